"""Fraud counters in Redis: fixed windows per sender, idempotent per gift id.

A gift counts once: ``SET NX`` on its id gates the increments, so a redelivered gift reads the
counters without adding to them again. Windows are fixed (minute / hour buckets), which is the
usual trade-off: a burst straddling a bucket edge counts up to twice the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from streams.fraud.rules import GiftCount, GiftFacts, TopUpFacts

PREFIX = "fraud:"


class RedisCounters:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def facts(self, gift_id: str, sender: str, creator: str, coins: int, now_s: float) -> GiftFacts:
        (one,) = await self.facts_many([GiftCount(gift_id, sender, creator, coins)], now_s)
        return one

    async def facts_many(self, gifts: Sequence[GiftCount], now_s: float) -> list[GiftFacts]:
        """Two round trips per batch, whatever its size: the ``SET NX`` gates, then one
        transaction that counts the first-time gifts and reads each gift's windows in order."""
        if not gifts:
            return []
        minute, hour = int(now_s // 60), int(now_s // 3600)
        gates = self._redis.pipeline(transaction=False)
        for g in gifts:
            gates.set(f"{PREFIX}seen:{g.gift_id}", 1, nx=True, ex=2 * 3600)
        firsts = await gates.execute()
        pipe = self._redis.pipeline(transaction=True)
        for g, first_time in zip(gifts, firsts, strict=True):
            gifts_minute = f"{PREFIX}gifts:{g.sender}:{minute}"
            coins_hour = f"{PREFIX}coins:{g.sender}:{hour}"
            pair_hour = f"{PREFIX}pair:{g.sender}:{g.creator}:{hour}"
            first_seen = f"{PREFIX}first_seen:{g.sender}"
            if first_time:
                pipe.incr(gifts_minute)
                pipe.expire(gifts_minute, 120)
                pipe.incrby(coins_hour, g.coins)
                pipe.expire(coins_hour, 7200)
                pipe.incrby(pair_hour, g.coins)
                pipe.expire(pair_hour, 7200)
            pipe.set(first_seen, int(now_s), nx=True, ex=30 * 24 * 3600)
            pipe.get(gifts_minute)
            pipe.get(coins_hour)
            pipe.get(pair_hour)
            pipe.get(first_seen)
        results = await pipe.execute()
        out, at = [], 0
        for g, first_time in zip(gifts, firsts, strict=True):
            at += 11 if first_time else 5
            gifts_minute, coins_hour, pair_hour, first_seen = results[at - 4 : at]
            out.append(
                GiftFacts(
                    gifts_last_minute=int(gifts_minute or 0),
                    coins_last_hour=int(coins_hour or 0),
                    coins_to_creator_last_hour=int(pair_hour or 0),
                    account_age_s=int(now_s) - int(first_seen or int(now_s)),
                    total_coins=g.coins,
                )
            )
        return out

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
