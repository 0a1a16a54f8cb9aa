"""Limits on what guessing credentials needs: failed authentications and dev sign-ins, per client
address and minute, counted in Redis (shared by every API process and gateway node).

Once an address has failed ``failed_auth_per_minute`` times in a minute, each further failure
answers 429 with Retry-After instead of 401 until the minute is over, so credentials cannot be
tried at the rate the API serves. Only failures are counted: a request with a valid token costs
no Redis round trip.
"""

from __future__ import annotations

import time

from fastapi import Request
from redis.asyncio import Redis

from serving.exceptions import TooManyRequests
from streams.store_keys import key_part

WINDOW_S = 60


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _key(kind: str, address: str, now: float) -> tuple[str, int]:
    window = int(now // WINDOW_S)
    return f"authlimit:{kind}:{key_part(address)}:{window}", WINDOW_S - int(now % WINDOW_S)


class AuthLimits:
    def __init__(self, redis: Redis, failed_per_minute: int, dev_tokens_per_minute: int) -> None:
        self._redis = redis
        self._limits = {"failed": failed_per_minute, "dev-token": dev_tokens_per_minute}

    async def hit(self, kind: str, address: str) -> None:
        """Count one ``kind`` (failed, dev-token) from ``address``; 429 once over this minute's limit."""
        key, retry_after = _key(kind, address, time.time())
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        count, _ = await pipe.execute()
        if int(count) > self._limits[kind]:
            what = "failed authentications" if kind == "failed" else "sign-ins"
            raise TooManyRequests(
                f"too many {what} from {address}; try again in {retry_after}s",
                retry_after,
                reason="rate_limited",
            )
