"""The room directory: PostgreSQL is the record, Redis the hot copy the chat path reads.

Every write goes to PostgreSQL first, then to Redis. A read that finds nothing in Redis (a new
room, or Redis lost its data) loads the room, its moderators and its active bans from
PostgreSQL and writes them back, so losing Redis loses no moderation state.

Redis layout, per room ``r``: hash ``room:{r}`` (creator, modes, terms, closed), set
``room:{r}:mods``, and ``room:{r}:ban:{user}`` (no expiry: banned; an expiry: timed out until).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.contracts.gifts import GiftRoomProblem
from streams.gifts.requests import SENDER_BANNED, UNKNOWN_CREATOR
from streams.postgres.named_sql import load
from streams.rooms.model import Room, RoomModes, clean_terms
from streams.rooms.platform_bans import platform_ban_key
from streams.store_keys import key_part

SQL = load(Path(__file__).with_name("rooms.sql"))


class RoomError(Exception):
    """A room operation that cannot be done (unknown room, someone else's room id)."""


class UnknownRoom(RoomError):
    pass


def room_key(room_id: str) -> str:
    return f"room:{key_part(room_id)}"


def ban_key(room_id: str, user_id: str) -> str:
    return f"room:{key_part(room_id)}:ban:{key_part(user_id)}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


UPDATES = frozenset({"CLOSE_ROOM", "SET_MODES", "SET_TERMS"})
IF_CACHED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call(ARGV[1], KEYS[2], unpack(ARGV, 2))
"""


class RoomDirectory:
    def __init__(self, pool: AsyncConnectionPool, redis: Redis) -> None:
        self._pool = pool
        self._redis = redis
        self._if_cached = redis.register_script(IF_CACHED)

    # -- reads ----------------------------------------------------------------------------

    async def get(self, room_id: str) -> Room | None:
        return (await self.many([room_id])).get(room_id)

    async def many(self, room_ids: Iterable[str]) -> dict[str, Room]:
        """Rooms by id, in one Redis round trip (plus PostgreSQL for any Redis has lost)."""
        ids = list(dict.fromkeys(room_ids))
        pipe = self._redis.pipeline(transaction=False)
        for room_id in ids:
            pipe.hgetall(room_key(room_id))
            pipe.smembers(room_key(room_id) + ":mods")
        replies = await pipe.execute()
        rooms: dict[str, Room] = {}
        for index, room_id in enumerate(ids):
            fields, mods = replies[2 * index], replies[2 * index + 1]
            if fields:
                rooms[room_id] = _from_redis(room_id, fields, mods)
            else:
                loaded = await self._hydrate(room_id)
                if loaded is not None:
                    rooms[room_id] = loaded
        return rooms

    async def titles(self, room_ids: Sequence[str]) -> dict[str, str]:
        """The titles creators gave their rooms (PostgreSQL: not needed on any hot path)."""
        if not room_ids:
            return {}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["TITLES"], {"room_ids": list(room_ids)})).fetchall()
        return {r[0]: r[1] for r in rows}

    async def require(self, room_id: str) -> Room:
        room = await self.get(room_id)
        if room is None:
            raise UnknownRoom(f"there is no room {room_id!r}")
        return room

    async def is_banned(self, room_id: str, user_id: str) -> bool:
        """Banned or timed out right now."""
        await self.require(room_id)
        return bool(await self._redis.exists(ban_key(room_id, user_id)))

    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        """For (room, sender, creator) triples: ``unknown_creator`` when the room does not exist,
        is closed or belongs to someone else; ``sender_banned`` when the sender is banned or timed
        out there; else None. Two Redis round trips for the whole batch."""
        if not gifts:
            return []
        rooms = await self.many(room for room, _, _ in gifts)
        pipe = self._redis.pipeline(transaction=False)
        for room, sender, _ in gifts:
            pipe.exists(ban_key(room, sender), platform_ban_key(sender))
        banned = await pipe.execute()
        problems: list[GiftRoomProblem | None] = []
        for (room_id, _, creator), is_banned in zip(gifts, banned, strict=True):
            found = rooms.get(room_id)
            if found is None or found.closed or found.creator_id != creator:
                problems.append(UNKNOWN_CREATOR)
            elif is_banned:
                problems.append(SENDER_BANNED)
            else:
                problems.append(None)
        return problems

    # -- writes ---------------------------------------------------------------------------

    async def create(self, room_id: str, creator_id: str, title: str = "") -> Room:
        """Open a room for a creator; idempotent for the same creator, refused for another."""
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["CREATE_ROOM"], {"room_id": room_id, "creator_id": creator_id, "title": title}
            )
        room = await self.require(room_id)
        if room.creator_id != creator_id:
            raise RoomError(f"room {room_id!r} belongs to another creator")
        return room

    async def close(self, room_id: str) -> None:
        await self._write("CLOSE_ROOM", room_id, {})
        await self._cached(room_id, "HSET", "", "closed", "1")

    async def set_modes(self, room_id: str, modes: RoomModes) -> None:
        await self._write("SET_MODES", room_id, {"modes": Jsonb(modes.model_dump())})
        await self._cached(room_id, "HSET", "", "modes", modes.model_dump_json())

    async def set_banned_terms(self, room_id: str, terms: list[str]) -> tuple[str, ...]:
        cleaned = clean_terms(terms)
        await self._write("SET_TERMS", room_id, {"terms": list(cleaned)})
        await self._cached(room_id, "HSET", "", "terms", orjson.dumps(list(cleaned)).decode())
        return cleaned

    async def add_moderator(self, room_id: str, user_id: str, actor: str) -> None:
        await self._write("ADD_MODERATOR", room_id, {"user_id": user_id, "actor": actor})
        await self._cached(room_id, "SADD", ":mods", user_id)

    async def remove_moderator(self, room_id: str, user_id: str) -> None:
        await self._write("REMOVE_MODERATOR", room_id, {"user_id": user_id})
        await self._cached(room_id, "SREM", ":mods", user_id)

    async def ban(
        self, room_id: str, user_id: str, actor: str, *, duration_s: int | None = None, reason: str = ""
    ) -> datetime | None:
        """Ban (no duration) or time out a user; returns when a timeout ends."""
        until = None if duration_s is None else datetime.now(UTC) + timedelta(seconds=duration_s)
        await self._write(
            "BAN", room_id, {"user_id": user_id, "until": until, "reason": reason, "actor": actor}
        )
        if duration_s is None:
            await self._redis.set(ban_key(room_id, user_id), "ban")
        else:
            await self._redis.set(ban_key(room_id, user_id), "timeout", ex=duration_s)
        return until

    async def unban(self, room_id: str, user_id: str) -> None:
        await self._write("UNBAN", room_id, {"user_id": user_id})
        await self._redis.delete(ban_key(room_id, user_id))

    # -- internals ------------------------------------------------------------------------

    async def _write(self, statement: str, room_id: str, params: dict[str, object]) -> None:
        """The write, in PostgreSQL; an unknown room is refused there (no row to update, or the
        foreign key), not by a read beforehand."""
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(SQL[statement], {"room_id": room_id, **params})
        except psycopg.errors.ForeignKeyViolation:
            raise UnknownRoom(f"there is no room {room_id!r}") from None
        if statement in UPDATES and cursor.rowcount == 0:
            raise UnknownRoom(f"there is no room {room_id!r}")

    async def _cached(self, room_id: str, command: str, suffix: str, *args: str) -> None:
        """Apply a write to the hot copy only if Redis holds the room; otherwise the next read
        loads it, write included, from PostgreSQL (never a half-filled room in Redis)."""
        await self._if_cached(keys=[room_key(room_id), room_key(room_id) + suffix], args=[command, *args])

    async def _hydrate(self, room_id: str) -> Room | None:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SQL["ROOM"], {"room_id": room_id})).fetchone()
            if row is None:
                return None
            mods = [
                r[0]
                for r in await (await conn.execute(SQL["ROOM_MODERATORS"], {"room_id": room_id})).fetchall()
            ]
            bans = await (await conn.execute(SQL["ROOM_BANS"], {"room_id": room_id})).fetchall()
        creator_id, modes, terms, closed = row
        room = Room(
            room_id=room_id,
            creator_id=creator_id,
            modes=RoomModes.model_validate(modes or {}),
            banned_terms=tuple(terms),
            moderators=frozenset(mods),
            closed=bool(closed),
        )
        now = datetime.now(UTC)
        pipe = self._redis.pipeline(transaction=True)
        for user_id, until in bans:
            if until is None:
                pipe.set(ban_key(room_id, user_id), "ban")
            else:
                pipe.set(
                    ban_key(room_id, user_id), "timeout", px=max(1, int((until - now).total_seconds() * 1000))
                )
        if mods:
            pipe.sadd(room_key(room_id) + ":mods", *mods)
        pipe.hset(
            room_key(room_id),
            mapping={
                "creator_id": creator_id,
                "modes": room.modes.model_dump_json(),
                "terms": orjson.dumps(list(room.banned_terms)),
                "closed": "1" if closed else "0",
            },
        )
        await pipe.execute()
        return room


def _from_redis(room_id: str, fields: dict[bytes, bytes], mods: set[bytes]) -> Room:
    text = {_text(k): _text(v) for k, v in fields.items()}
    return Room(
        room_id=room_id,
        creator_id=text["creator_id"],
        modes=RoomModes.model_validate_json(text.get("modes") or "{}"),
        banned_terms=tuple(orjson.loads(text.get("terms") or "[]")),
        moderators=frozenset(_text(m) for m in mods),
        closed=text.get("closed") == "1",
    )
