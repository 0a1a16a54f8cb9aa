"""Playback sessions: the player asks for one before it plays; its QoS beacons must name it.

A session (CMCD ``sid``) belongs to one viewer and one stream, kept in Redis for a day.
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

SESSION_TTL_S = 24 * 3600


class PlaybackSessions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def _key(sid: str) -> str:
        return f"playback:{sid}"

    async def start(self, stream_id: str, viewer_id: str) -> str:
        sid = f"ps_{secrets.token_hex(12)}"
        await self.redis.hset(self._key(sid), mapping={"stream_id": stream_id, "viewer_id": viewer_id})
        await self.redis.expire(self._key(sid), SESSION_TTL_S)
        return sid

    async def owner(self, sids: list[str]) -> dict[str, tuple[str, str]]:
        """sid → (stream_id, viewer_id) for the sessions that exist."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hmget(self._key(sid), ["stream_id", "viewer_id"])
            rows = await pipe.execute()
        found = {}
        for sid, (stream_id, viewer_id) in zip(sids, rows, strict=True):
            if stream_id is not None and viewer_id is not None:
                found[sid] = (_text(stream_id), _text(viewer_id))
        return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
