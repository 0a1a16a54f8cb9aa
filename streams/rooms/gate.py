"""The stateful chat checks, atomically in Redis, once per message id.

One Lua call per message checks, in order: ban, timeout, slow mode, unique-chat, then the room
and global rate limits, and only when all pass records the message against slow mode and
unique-chat. The decision is remembered under the message id for five minutes, so a
redelivered message gets the same answer and is not counted twice.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from streams.contracts.chat import RejectReason
from streams.rooms.directory import ban_key
from streams.rooms.model import normalise
from streams.rooms.moderation import PASS, GateRequest, GateResult
from streams.rooms.platform_bans import platform_ban_key
from streams.store_keys import key_part

GATE = """
local prior = redis.call('GET', KEYS[6])
if prior then return prior end
local function decide(verdict)
  redis.call('SET', KEYS[6], verdict, 'EX', 300)
  return verdict
end
if redis.call('EXISTS', KEYS[7]) == 1 then return decide('platform_banned:0') end
local ban = redis.call('PTTL', KEYS[1])
if ban == -1 then return decide('banned:0') end
if ban > 0 then return decide('timed_out:' .. ban) end
local slow_ms = tonumber(ARGV[4])
if slow_ms > 0 then
  local wait = redis.call('PTTL', KEYS[4])
  if wait > 0 then return decide('slow_mode:' .. wait) end
end
local unique_ms = tonumber(ARGV[5])
if unique_ms > 0 and redis.call('EXISTS', KEYS[5]) == 1 then
  return decide('duplicate:' .. redis.call('PTTL', KEYS[5]))
end
local window_ms = tonumber(ARGV[3])
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], window_ms) end
if n > tonumber(ARGV[1]) then return decide('rate_limited:' .. redis.call('PTTL', KEYS[2])) end
local g = redis.call('INCR', KEYS[3])
if g == 1 then redis.call('PEXPIRE', KEYS[3], window_ms) end
if g > tonumber(ARGV[2]) then return decide('rate_limited:' .. redis.call('PTTL', KEYS[3])) end
if slow_ms > 0 then redis.call('SET', KEYS[4], 1, 'PX', slow_ms) end
if unique_ms > 0 then redis.call('SET', KEYS[5], 1, 'PX', unique_ms) end
return decide('ok:0')
"""

REASONS = {
    "banned": (RejectReason.BANNED, "you are banned from this room"),
    "platform_banned": (RejectReason.BANNED, "you are banned from the platform"),
    "timed_out": (RejectReason.TIMED_OUT, "you are timed out in this room"),
    "slow_mode": (RejectReason.SLOW_MODE, "slow mode: wait before your next message"),
    "duplicate": (RejectReason.DUPLICATE, "unique chat: you sent this message recently"),
    "rate_limited": (RejectReason.RATE_LIMITED, "too many messages: slow down"),
}


class ChatGate:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(GATE)

    async def check(self, requests: list[GateRequest]) -> list[GateResult]:
        """One pipelined round trip for a batch of messages, in order."""
        if not requests:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for r in requests:
            digest = hashlib.blake2b(normalise(r.text).encode(), digest_size=12).hexdigest()
            keys = [
                ban_key(r.room_id, r.user_id),
                f"chat:rate:{key_part(r.room_id)}:{key_part(r.user_id)}",
                f"chat:rate:*:{key_part(r.user_id)}",
                f"chat:slow:{r.room_id}:{r.user_id}",
                f"chat:uniq:{r.room_id}:{r.user_id}:{digest}",
                f"chat:decided:{r.message_id}",
                platform_ban_key(r.user_id),
            ]
            args = [r.room_limit, r.global_limit, r.window_s * 1000, r.slow_mode_s * 1000, r.unique_s * 1000]
            await self._script(keys=keys, args=args, client=pipe)
        replies = await pipe.execute()
        return [_result(reply) for reply in replies]


def _result(reply: bytes | str) -> GateResult:
    text = reply.decode() if isinstance(reply, bytes) else reply
    verdict, _, wait = text.partition(":")
    if verdict == "ok":
        return PASS
    reason, detail = REASONS[verdict]
    wait_ms = int(wait)
    return GateResult(reason, detail, wait_ms if wait_ms > 0 else None)
