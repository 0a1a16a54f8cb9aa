"""Fraud counters on the real Redis: a redelivered gift is not counted twice; windows expire."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from streams.fraud.counters import RedisCounters
from streams.fraud.rules import GiftCount
from streams.settings import Settings


async def test_counters_count_each_gift_once(settings: Settings, unique: str) -> None:
    redis = Redis.from_url(settings.redis.url)
    counters = RedisCounters(redis)
    sender, creator = f"s-{unique}", f"c-{unique}"
    gift = str(uuid.uuid4())
    first = await counters.facts(gift, sender, creator, 100, now_s=1_000_000)
    again = await counters.facts(gift, sender, creator, 100, now_s=1_000_001)
    assert (first.gifts_last_minute, first.coins_last_hour) == (1, 100)
    assert (again.gifts_last_minute, again.coins_last_hour) == (1, 100)
    other = await counters.facts(str(uuid.uuid4()), sender, f"{creator}-2", 50, now_s=1_000_002)
    assert (other.gifts_last_minute, other.coins_last_hour, other.coins_to_creator_last_hour) == (2, 150, 50)
    assert other.account_age_s == 2
    later = await counters.facts(str(uuid.uuid4()), sender, creator, 1, now_s=1_000_000 + 120)
    assert later.gifts_last_minute == 1  # a new minute window
    assert 0 < await redis.ttl(f"fraud:gifts:{sender}:{(1_000_120 // 60)}") <= 120
    await redis.aclose()


async def test_a_batch_counts_in_order_and_once_per_gift(settings: Settings) -> None:
    """Counted in one transaction per batch: the second gift of a sender sees the first, and a
    gift repeated inside the batch (or delivered again later) is counted once."""
    sender, creator = f"s-{uuid.uuid4().hex[:8]}", "c"
    counters = RedisCounters(Redis.from_url(settings.redis.url))
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    batch = [
        GiftCount(a, sender, creator, 10),
        GiftCount(b, sender, creator, 20),
        GiftCount(a, sender, creator, 10),
    ]
    first, second, repeated = await counters.facts_many(batch, now_s=2_000_000)
    assert (first.gifts_last_minute, first.coins_last_hour) == (1, 10)
    assert (second.gifts_last_minute, second.coins_last_hour) == (2, 30)
    assert (repeated.gifts_last_minute, repeated.coins_last_hour) == (2, 30)
    (again,) = await counters.facts_many([GiftCount(b, sender, creator, 20)], now_s=2_000_001)
    assert again.coins_to_creator_last_hour == 30
