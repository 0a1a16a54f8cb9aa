"""`make bench-ledger`: gifts settled per second by the batched settlement (one PostgreSQL
transaction per batch, idempotent by gift id, every guarantee on), against a naive settlement
doing one transaction per gift, in the same run, on the real PostgreSQL.

    python -m bench.ledger          # 60,000 gifts batched, 3,000 naive
    QUICK=1 python -m bench.ledger  # 12,000 gifts batched, 1,000 naive

The end-to-end figure (API -> Kafka -> fraud -> settlement -> settled event) needs the gift
API and the Faust settlement agent, which are not built yet; this measures the settlement step.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, GiftRequest, Transfer
from streams.ledger.store import PostgresLedger
from streams.postgres.migrate import migrate
from streams.settings import REPO_ROOT, Settings

QUICK = os.environ.get("QUICK") == "1"
GIFTS = 12_000 if QUICK else 60_000
NAIVE_GIFTS = 1_000 if QUICK else 3_000
SENDERS = 2_000
CREATORS = 50
BATCH = 1_000
WORKERS = 2  # settlement workers, each owning the senders of its Kafka partitions
RESULTS = REPO_ROOT / "bench" / "results" / "ledger.json"


def gifts(run: str, n: int, rng: random.Random) -> list[GiftRequest]:
    return [
        GiftRequest(
            uuid.uuid4(),
            f"{run}s{rng.randrange(SENDERS)}",
            f"{run}c{rng.randrange(CREATORS)}",
            "room-1",
            "rose",
            1,
            rng.choice([1, 5, 10, 50]),
        )
        for _ in range(n)
    ]


async def fund(ledger: PostgresLedger, run: str) -> None:
    transfers = [
        Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "topup",
            Flags.POSTED,
            COINS,
            1_000_000,
            COIN_ISSUANCE,
            f"user_coins:{run}s{i}",
            "bench",
        )
        for i in range(SENDERS)
    ]
    for lo in range(0, len(transfers), 500):
        await ledger.post(transfers[lo : lo + 500])


async def batched(ledger: PostgresLedger, load: list[GiftRequest]) -> tuple[float, list[float]]:
    partitions: list[list[GiftRequest]] = [[] for _ in range(WORKERS)]
    for gift in load:
        partitions[hash(gift.sender_id) % WORKERS].append(gift)
    latencies: list[float] = []

    async def worker(mine: list[GiftRequest]) -> None:
        for lo in range(0, len(mine), BATCH):
            t = time.monotonic()
            outcomes = await ledger.settle_gifts(mine[lo : lo + BATCH])
            elapsed = (time.monotonic() - t) * 1000
            latencies.extend([elapsed] * len(outcomes))  # each gift waited for its batch's commit

    t0 = time.monotonic()
    await asyncio.gather(*(worker(p) for p in partitions))
    return len(load) / (time.monotonic() - t0), latencies


async def naive(ledger: PostgresLedger, load: list[GiftRequest]) -> float:
    t0 = time.monotonic()
    for gift in load:
        await ledger.settle_gifts([gift])
    return len(load) / (time.monotonic() - t0)


async def main_async() -> dict[str, object]:
    settings = Settings()
    schema = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    dsn = f"{settings.postgres.dsn()}?options=-csearch_path%3D{schema}"
    try:
        migrate(dsn)
        pool = AsyncConnectionPool(dsn, min_size=WORKERS, max_size=WORKERS + 2, open=False)
        await pool.open(wait=True)
        ledger = PostgresLedger(pool)
        rng = random.Random(11)
        run = uuid.uuid4().hex[:6]
        await fund(ledger, run)
        load = gifts(run, GIFTS, rng)
        print(f"batched settlement: {GIFTS:,} gifts, batches of {BATCH}, {WORKERS} workers ...", flush=True)
        rate, latencies = await batched(ledger, load)
        replay_t = time.monotonic()
        again = await ledger.settle_gifts(load[:BATCH])  # redelivery: answered from the outcomes
        replay_ms = (time.monotonic() - replay_t) * 1000
        assert all(o.settled for o in again)
        print(
            f"  {rate:,.0f} gifts/s; p50 {statistics.median(latencies):.0f} ms, "
            f"p99 {sorted(latencies)[int(0.99 * len(latencies))]:.0f} ms per gift (batch commit)",
            flush=True,
        )
        print(f"naive settlement: {NAIVE_GIFTS:,} gifts, one transaction each ...", flush=True)
        naive_rate = await naive(ledger, gifts(run, NAIVE_GIFTS, rng))
        print(f"  {naive_rate:,.0f} gifts/s", flush=True)
        totals, _ = await ledger.totals()
        conserved = sum(t.balance for t in totals.values()) == 0
        overdrawn = [a for a, t in totals.items() if a.startswith("user_coins:") and t.available < 0]
        await pool.close()
    finally:
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))
    return {
        "quick": QUICK,
        "gifts": GIFTS,
        "gifts_per_s": round(rate),
        "naive_gifts_per_s": round(naive_rate),
        "speedup_vs_naive": round(rate / naive_rate, 1),
        "p50_settle_ms": round(statistics.median(latencies), 1),
        "p99_settle_ms": round(sorted(latencies)[int(0.99 * len(latencies))], 1),
        "p99_scope": "settlement step: a gift's wait for its batch's commit (API and agents not built yet)",
        "batch": BATCH,
        "workers": WORKERS,
        "replay_batch_ms": round(replay_ms, 1),
        "conserved": conserved,
        "overdrawn_wallets": len(overdrawn),
        "measured_at": datetime.now(UTC).isoformat(),
    }


def main() -> int:
    result = asyncio.run(main_async())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    return 0 if result["conserved"] and not result["overdrawn_wallets"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
