"""Fraud counters in Redis: fixed windows per sender, idempotent per gift id.

A gift counts once: ``SET NX`` on its id gates the increments, so a redelivered gift reads the
counters without adding to them again. Windows are fixed (minute / hour buckets), which is the
usual trade-off: a burst straddling a bucket edge counts up to twice the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis

from streams.fraud.rules import GiftCount, GiftFacts, TopUpFacts

PREFIX = "fraud:"
GIFT_FACTS = Path(__file__).with_name("gift_facts.lua").read_text()


class RedisCounters:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._gift_facts = redis.register_script(GIFT_FACTS)

    async def facts(self, gift_id: str, sender: str, creator: str, coins: int, now_s: float) -> GiftFacts:
        (one,) = await self.facts_many([GiftCount(gift_id, sender, creator, coins)], now_s)
        return one

    async def facts_many(self, gifts: Sequence[GiftCount], now_s: float) -> list[GiftFacts]:
        """One round trip per batch, whatever its size: a Lua script (``gift_facts.lua``) that
        counts each first-time gift and reads its windows in order, atomically."""
        if not gifts:
            return []
        minute, hour = int(now_s // 60), int(now_s // 3600)
        keys: list[str] = []
        for g in gifts:
            keys += [
                f"{PREFIX}seen:{g.gift_id}",
                f"{PREFIX}gifts:{g.sender}:{minute}",
                f"{PREFIX}coins:{g.sender}:{hour}",
                f"{PREFIX}pair:{g.sender}:{g.creator}:{hour}",
                f"{PREFIX}first_seen:{g.sender}",
            ]
        values = await self._gift_facts(keys=keys, args=[int(now_s), *(g.coins for g in gifts)])
        return [
            GiftFacts(
                gifts_last_minute=int(values[at]),
                coins_last_hour=int(values[at + 1]),
                coins_to_creator_last_hour=int(values[at + 2]),
                account_age_s=int(now_s) - int(values[at + 3]),
                total_coins=g.coins,
            )
            for at, g in zip(range(0, 4 * len(gifts), 4), gifts, strict=True)
        ]

    async def topup_facts(
        self,
        topup_id: str,
        user: str,
        instrument: str,
        device: str | None,
        ip: str | None,
        cents: int,
        now_s: float,
    ) -> TopUpFacts:
        """Count a top-up attempt once per top-up id and read the hourly windows."""
        hour = int(now_s // 3600)
        keys = [
            f"{PREFIX}topups:user:{user}:{hour}",
            f"{PREFIX}cents:user:{user}:{hour}",
            f"{PREFIX}cents:instrument:{instrument}:{hour}",
            f"{PREFIX}topups:device:{device or '-'}:{hour}",
            f"{PREFIX}topups:ip:{ip or '-'}:{hour}",
        ]
        first_time = await self._redis.set(f"{PREFIX}seen-topup:{topup_id}", 1, nx=True, ex=2 * 3600)
        pipe = self._redis.pipeline(transaction=True)
        if first_time:
            for key, amount in zip(keys, (1, cents, cents, 1 if device else 0, 1 if ip else 0), strict=True):
                pipe.incrby(key, amount)
                pipe.expire(key, 7200)
        for key in keys:
            pipe.get(key)
        pipe.scard(f"{PREFIX}chargebacks:{user}")
        values = (await pipe.execute())[-6:]
        counts = [int(v or 0) for v in values]
        return TopUpFacts(*counts)

    async def record_chargeback(self, user: str, topup_id: str) -> None:
        key = f"{PREFIX}chargebacks:{user}"
        await self._redis.sadd(key, topup_id)
        await self._redis.expire(key, 90 * 24 * 3600)
