"""The room state stores against the real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.contracts.chat import RejectReason
from streams.rooms.directory import RoomDirectory, RoomError, UnknownRoom, ban_key, room_key
from streams.rooms.gate import ChatGate
from streams.rooms.history import ChatHistory
from streams.rooms.model import RoomModes
from streams.rooms.moderation import GateRequest
from streams.rooms.presence import PresenceBoard
from streams.settings import Settings


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    yield pool
    await pool.close()


def request(user: str, room: str, text: str = "hi", **overrides: int) -> GateRequest:
    fields = {
        "room_limit": 3,
        "global_limit": 5,
        "window_s": 30,
        "slow_mode_s": 0,
        "unique_s": 0,
        **overrides,
    }
    return GateRequest(str(uuid.uuid4()), room, user, text, **fields)


async def test_the_gate_counts_each_message_once_and_names_the_wait(redis: Redis, unique: str) -> None:
    gate = ChatGate(redis)
    room = f"room-{unique}"
    first = [request("ann", room, f"m{i}") for i in range(4)]
    results = await gate.check(first)
    assert [r.reason for r in results] == [None, None, None, RejectReason.RATE_LIMITED]
    assert 29_000 < (results[3].retry_after_ms or 0) <= 30_000
    # A redelivered batch gets the same answers and does not count again.
    assert await gate.check(first) == results
    # The global limit spans rooms: 3 passed in one room, 2 more pass in another, then no more.
    other = [request("ann", f"{room}-b", f"x{i}") for i in range(3)]
    assert [r.reason for r in await gate.check(other)] == [None, None, RejectReason.RATE_LIMITED]


async def test_slow_mode_unique_chat_bans_and_timeouts(redis: Redis, unique: str) -> None:
    gate = ChatGate(redis)
    room = f"room-{unique}"
    slow = await gate.check(
        [request("sam", room, "a", slow_mode_s=20), request("sam", room, "b", slow_mode_s=20)]
    )
    assert [r.reason for r in slow] == [None, RejectReason.SLOW_MODE]
    assert 19_000 < (slow[1].retry_after_ms or 0) <= 20_000
    same = await gate.check(
        [request("uma", room, "Hello there", unique_s=30), request("uma", room, "hello  THERE", unique_s=30)]
    )
    assert [r.reason for r in same] == [None, RejectReason.DUPLICATE]
    await redis.set(ban_key(room, "bo"), "ban")
    await redis.set(ban_key(room, "ti"), "timeout", ex=60)
    banned, timed = await gate.check([request("bo", room), request("ti", room)])
    assert banned.reason is RejectReason.BANNED
    assert timed.reason is RejectReason.TIMED_OUT
    assert 59_000 < (timed.retry_after_ms or 0) <= 60_000


async def test_history_appends_once_deletes_and_recovers_within_the_window(redis: Redis, unique: str) -> None:
    history = ChatHistory(redis, max_messages=5, window_s=120)
    room = f"room-{unique}"
    ids = [str(uuid.uuid4()) for _ in range(8)]
    seqs = [
        (await history.append(room, mid, {"message_id": mid, "text": str(i)}))[0] for i, mid in enumerate(ids)
    ]
    assert await history.append(room, ids[0], {"message_id": ids[0]}) == (seqs[0], False)  # once
    recovered = await history.since(room, ids[4])
    assert recovered.recovered
    assert [m["message_id"] for m in recovered.messages] == ids[5:]
    assert [m["seq"] for m in recovered.messages] == seqs[5:]
    assert recovered.head_seq == seqs[-1]
    assert await history.delete(room, ids[6])
    assert [m["message_id"] for m in (await history.since(room, ids[4])).messages] == [ids[5], ids[7]]
    # Only the last five are kept: recovering from the first message cannot be complete.
    too_old = await history.since(room, ids[0])
    assert not too_old.recovered
    assert [m["message_id"] for m in too_old.messages] == [ids[3], ids[4], ids[5], ids[7]]
    # Messages older than the time window are not replayed.
    later = await history.since(room, ids[4], now_s=10**10)
    assert later.messages == []


async def test_occupancy_drops_the_connections_of_a_silent_node(redis: Redis, unique: str) -> None:
    board = PresenceBoard(redis, node_ttl_s=0.5)
    room = f"room-{unique}"
    alive, dying = f"gw-a.{unique}", f"gw-b.{unique}"
    await board.heartbeat(alive)
    await board.heartbeat(dying)
    await board.joined(room, alive, "s1", "ann")
    await board.joined(room, alive, "s2", "ann")
    await board.joined(room, dying, "s3", "bob")
    counts = {o.room_id: o for o in await board.count()}
    assert (counts[room].viewers, counts[room].connections) == (2, 3)
    await asyncio.sleep(0.6)
    await board.heartbeat(alive)  # only one node keeps beating
    counts = {o.room_id: o for o in await board.count()}
    assert (counts[room].viewers, counts[room].connections) == (1, 2)
    await board.left(room, alive, "s1")
    await board.left(room, alive, "s2")
    counts = {o.room_id: o for o in await board.count()}
    assert (counts[room].viewers, counts[room].connections) == (0, 0)
    assert room not in {o.room_id for o in await board.count()}  # an empty room is forgotten


async def test_the_directory_survives_losing_redis(
    pool: AsyncConnectionPool, redis: Redis, unique: str
) -> None:
    rooms = RoomDirectory(pool, redis)
    room = f"room-{unique}"
    await rooms.create(room, "creator-1", "launch party")
    await rooms.set_modes(room, RoomModes(slow_mode_s=5, links_blocked=True))
    await rooms.set_banned_terms(room, ["Spoiler"])
    await rooms.add_moderator(room, "mod-1", "creator-1")
    await rooms.ban(room, "troll", "mod-1")
    await rooms.ban(room, "noisy", "mod-1", duration_s=60)
    with pytest.raises(RoomError, match="another creator"):
        await rooms.create(room, "creator-2")
    # Redis forgets everything about the room; PostgreSQL brings it back on the next read.
    await redis.delete(
        room_key(room), room_key(room) + ":mods", ban_key(room, "troll"), ban_key(room, "noisy")
    )
    restored = await rooms.require(room)
    assert restored.modes == RoomModes(slow_mode_s=5, links_blocked=True)
    assert (restored.banned_terms, restored.moderators) == (("spoiler",), frozenset({"mod-1"}))
    assert await rooms.is_banned(room, "troll")
    assert 50 < await redis.ttl(ban_key(room, "noisy")) <= 60
    await rooms.unban(room, "troll")
    assert not await rooms.is_banned(room, "troll")
    assert await rooms.get(f"{room}-missing") is None


async def test_one_worker_at_a_time_counts_occupancy(redis: Redis) -> None:
    board = PresenceBoard(redis)
    await redis.delete("presence:counter")
    assert await board.lead("worker-a", 300)
    assert not await board.lead("worker-b", 300)  # a second worker does not broadcast twice
    assert await board.lead("worker-a", 300)  # the holder renews
    await asyncio.sleep(0.35)
    assert await board.lead("worker-b", 300)  # the holder died: another takes over
    assert not await board.lead("worker-a", 300)
    await redis.delete("presence:counter")


async def test_writes_while_redis_lost_the_room_and_writes_to_no_room(
    pool: AsyncConnectionPool, redis: Redis, unique: str
) -> None:
    rooms = RoomDirectory(pool, redis)
    room = f"room-{unique}"
    await rooms.create(room, "creator-1")
    await redis.delete(room_key(room), room_key(room) + ":mods")
    await rooms.set_modes(room, RoomModes(emote_only=True))  # Redis has no copy: PostgreSQL only
    await rooms.add_moderator(room, "mod-1", "creator-1")
    assert not await redis.exists(room_key(room))  # no half-filled room in Redis
    loaded = await rooms.require(room)
    assert (loaded.creator_id, loaded.modes.emote_only, loaded.moderators) == (
        "creator-1",
        True,
        frozenset({"mod-1"}),
    )
    for write in (
        rooms.set_modes(f"{room}-x", RoomModes()),
        rooms.ban(f"{room}-x", "someone", "mod-1"),
        rooms.add_moderator(f"{room}-x", "someone", "creator-1"),
    ):
        with pytest.raises(UnknownRoom):
            await write
