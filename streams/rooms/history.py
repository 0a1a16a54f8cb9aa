"""Recent chat per room, for clients that reconnect: a Redis stream per room.

The chat fan-out appends each accepted message once (keyed by message id, so a redelivered
decision does not append twice) and gets its ``seq``, the stream entry id: increasing within a
room, the order every client sees. A deletion removes the entry, so a recovering client never
receives a deleted message. Recovery returns what came after the client's last message id,
within the window (the last ``max_messages`` and at most ``window_s`` old), in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from streams.store_keys import key_part

APPEND = """
local prior = redis.call('GET', KEYS[2])
if prior then return {prior, 0} end
local seq = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'm', ARGV[2])
redis.call('SET', KEYS[2], seq, 'EX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {seq, 1}
"""

DELETE = """
local seq = redis.call('GET', KEYS[2])
if not seq then return 0 end
return redis.call('XDEL', KEYS[1], seq)
"""


def history_key(room_id: str) -> str:
    return f"room:{key_part(room_id)}:history"


def seq_key(message_id: str) -> str:
    return f"chat:seq:{message_id}"


def seq_order(seq: str) -> tuple[int, int]:
    millis, _, counter = seq.partition("-")
    return int(millis), int(counter or 0)


@dataclass(frozen=True)
class Recovery:
    messages: list[dict[str, Any]]
    recovered: bool
    """False when the client's last message is outside the window: it may have missed more."""
    head_seq: str | None
    """The newest seq in the room's history when it was read; live messages at or before it
    were already delivered by the recovery."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ChatHistory:
    def __init__(self, redis: Redis, *, max_messages: int = 200, window_s: int = 120) -> None:
        self._redis = redis
        self.max_messages = max_messages
        self.window_s = window_s
        self._append = redis.register_script(APPEND)
        self._delete = redis.register_script(DELETE)

    async def append(self, room_id: str, message_id: str, payload: dict[str, Any]) -> tuple[str, bool]:
        """Append once; returns the message's seq and whether this call appended it. The stored
        payload carries its own seq, so a recovered message looks exactly like a live one."""
        reply = await self._append(
            keys=[history_key(room_id), seq_key(message_id)],
            args=[self.max_messages, orjson.dumps(payload), self.window_s * 5, self.window_s * 10_000],
        )
        return _text(reply[0]), bool(reply[1])

    async def delete(self, room_id: str, message_id: str) -> bool:
        return bool(await self._delete(keys=[history_key(room_id), seq_key(message_id)]))

    async def since(self, room_id: str, last_message_id: str | None, now_s: float | None = None) -> Recovery:
        raw = await self._redis.xrevrange(history_key(room_id), count=self.max_messages)
        entries: list[tuple[Any, Any]] = list(reversed(raw or []))
        oldest_ms = int(((now_s if now_s is not None else time.time()) - self.window_s) * 1000)
        window: list[dict[str, Any]] = []
        for seq, fields in entries:
            seq_text = _text(seq)
            if seq_order(seq_text)[0] < oldest_ms:
                continue
            message = orjson.loads(fields[b"m"] if b"m" in fields else fields["m"])
            message["seq"] = seq_text
            window.append(message)
        head = _text(entries[-1][0]) if entries else None
        if last_message_id is None:
            return Recovery([], True, head)
        last_seq = await self._redis.get(seq_key(last_message_id))
        if last_seq is None or not window:
            return Recovery(window, last_seq is not None and head is not None, head)
        last = seq_order(_text(last_seq))
        missed = [m for m in window if seq_order(m["seq"]) > last]
        # Recovered when the client's last message is still inside the window: nothing between it
        # and what is returned was trimmed away.
        return Recovery(missed, last >= seq_order(window[0]["seq"]), head)
