"""Presence in Redis: who is connected to which room through which gateway node.

Gateway node instances heartbeat ``presence:node:{instance}`` (expiring after a few missed
beats). The presence agent records joins and leaves per room in ``presence:room:{r}``
(field ``instance|session`` -> user). When it counts a room, connections whose node stopped
heartbeating are dropped: a node that dies takes its connections with it within the TTL.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from streams.store_keys import key_part

ROOMS = "presence:rooms"


def node_key(instance: str) -> str:
    return f"presence:node:{instance}"


def members_key(room_id: str) -> str:
    return f"presence:room:{key_part(room_id)}"


@dataclass(frozen=True)
class Occupancy:
    room_id: str
    viewers: int
    connections: int


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


FORGET_IF_EMPTY = """
if redis.call('HLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
"""


LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class PresenceBoard:
    def __init__(self, redis: Redis, *, node_ttl_s: float = 6.0) -> None:
        self._redis = redis
        self.node_ttl_ms = int(node_ttl_s * 1000)
        self._forget_if_empty = redis.register_script(FORGET_IF_EMPTY)
        self._lead = redis.register_script(LEAD)

    async def lead(self, owner: str, ttl_ms: int) -> bool:
        """One counter at a time: true while ``owner`` holds (or takes over) the counting lease.
        With several worker processes only the holder counts and broadcasts occupancy; if it
        dies, another takes over when the lease expires."""
        return bool(await self._lead(keys=["presence:counter"], args=[owner, ttl_ms]))

    async def heartbeat(self, instance: str) -> None:
        await self._redis.set(node_key(instance), 1, px=self.node_ttl_ms)

    async def node_gone(self, instance: str) -> None:
        await self._redis.delete(node_key(instance))

    async def joined(self, room_id: str, instance: str, session_id: str, user_id: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(members_key(room_id), f"{instance}|{session_id}", user_id)
        pipe.sadd(ROOMS, room_id)
        await pipe.execute()

    async def left(self, room_id: str, instance: str, session_id: str) -> None:
        await self._redis.hdel(members_key(room_id), f"{instance}|{session_id}")

    async def count(self) -> list[Occupancy]:
        """Occupancy of every room with members, after dropping connections of dead nodes."""
        rooms = sorted(_text(r) for r in await self._redis.smembers(ROOMS))
        if not rooms:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for room_id in rooms:
            pipe.hgetall(members_key(room_id))
        tables = [{_text(k): _text(v) for k, v in t.items()} for t in await pipe.execute()]
        instances = sorted({field.split("|", 1)[0] for table in tables for field in table})
        alive: set[str] = set()
        if instances:
            flags = await self._redis.mget([node_key(i) for i in instances])
            alive = {i for i, flag in zip(instances, flags, strict=True) if flag is not None}
        result: list[Occupancy] = []
        cleanup = self._redis.pipeline(transaction=False)
        for room_id, table in zip(rooms, tables, strict=True):
            dead = [f for f in table if f.split("|", 1)[0] not in alive]
            if dead:
                cleanup.hdel(members_key(room_id), *dead)
            live = {f: u for f, u in table.items() if f not in dead}
            if not live:  # a join racing this count keeps the room (checked inside Redis)
                await self._forget_if_empty(
                    keys=[members_key(room_id), ROOMS], args=[room_id], client=cleanup
                )
            result.append(Occupancy(room_id, len(set(live.values())), len(live)))
        await cleanup.execute()
        return result
