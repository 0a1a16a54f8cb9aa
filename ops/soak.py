"""Soak: a million gifts through fraud screening, settlement, the outbox and the warehouse, with
the memory of every process sampled as it goes.

    python -m ops.soak [--gifts 1000000] [--senders 2000] [--max-lag 40000] [--json PATH]

Gift requests are produced to ``gifts.requested`` as the API produces them (the HTTP edge has
its own benchmark); two Faust workers in one group, the outbox relay and the warehouse sink do
the rest. At the end the platform must have drained (every gift decided, the outbox empty, no
lag), PostgreSQL and ClickHouse must agree on the settled gifts, the books must balance, and
the resident memory of each process must be flat: the median of the last quarter of samples
within 15 % of the median of the second quarter (after warm-up). Exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from ops.chaos import Platform, ch_facts, ledger_audit
from ops.processes import tree_memory_mb
from ops.seed import fund_wallets, open_rooms
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.gifts import GiftRequested
from streams.ledger.store import PostgresLedger
from streams.settings import REPO_ROOT, Settings

PROCESSES = ("worker", "worker-2", "relay", "sink")
SETTLED = """
SELECT count(DISTINCT reference_id), COALESCE(sum(amount), 0) FROM ledger_transfers
WHERE kind IN ('gift', 'gift_fee') AND debit_account LIKE %(wallets)s
"""
DECIDED = "SELECT count(*) FROM ledger_gift_outcomes o WHERE o.decided_at >= %(since)s"


def fund(settings: Settings, senders: list[str], coins: int) -> None:
    async def run() -> None:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=2, open=False)
        await pool.open(wait=True)
        try:
            await fund_wallets(PostgresLedger(pool), senders, coins, "soak")
        finally:
            await pool.close()

    asyncio.run(run())


def flat(samples: list[float], tolerance: float = 0.15) -> tuple[bool, float, float]:
    """(flat?, median of the second quarter, median of the last quarter)."""
    if len(samples) < 8:
        return True, samples[0] if samples else 0.0, samples[-1] if samples else 0.0
    q = len(samples) // 4
    early, late = statistics.median(samples[q : 2 * q]), statistics.median(samples[3 * q :])
    return late <= early * (1 + tolerance), early, late


def soak(settings: Settings, gifts: int, senders: int, max_lag: int, sample_s: float = 5.0) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    prefix = f"soak{run}"
    work = REPO_ROOT / ".cache" / "soak" / run
    work.mkdir(parents=True, exist_ok=True)
    users = [f"{prefix}-v{i}" for i in range(senders)]
    creators = [f"{prefix}-c{i}" for i in range(20)]
    open_rooms(settings, {f"{c}-room": c for c in creators})
    fund(settings, users, 10 * (gifts // senders + 10))
    platform = Platform(settings, run, work)
    platform.start(PROCESSES)
    print(f"soak {run}: {gifts:,} gifts from {senders:,} senders; logs in {work}", flush=True)
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="soak")
    producer = EventProducer(wire)
    memory: dict[str, list[float]] = {name: [] for name in PROCESSES}
    sent, started, last_sample = 0, time.monotonic(), 0.0
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    try:
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:

            def decided() -> int:
                row = conn.execute(DECIDED, {"since": since}).fetchone()
                return int(row[0]) if row else 0

            done = 0
            while True:
                now = time.monotonic()
                if now - last_sample >= sample_s:
                    last_sample = now
                    for name in PROCESSES:
                        proc = platform.procs[name].popen
                        if proc is not None and proc.poll() is None:
                            memory[name].append(tree_memory_mb(proc.pid))
                    done = decided()
                    rate = done / max(now - started, 1e-9)
                    print(
                        f"  {now - started:6.0f} s  sent {sent:>9,}  decided {done:>9,}  ({rate:,.0f}/s)  "
                        + "  ".join(f"{n} {m[-1]:.0f} MB" for n, m in memory.items() if m),
                        flush=True,
                    )
                    if sent >= gifts and done >= gifts:
                        break
                    if platform.dead():
                        raise RuntimeError(f"processes died: {platform.dead()}")
                if sent < gifts and sent - done < max_lag:
                    for _ in range(min(2000, gifts - sent)):
                        sender = users[sent % senders]
                        creator = creators[sent % len(creators)]
                        gift_id = uuid.uuid4()
                        producer.submit(
                            GiftRequested(
                                gift_id=gift_id,
                                sender_id=sender,
                                creator_id=creator,
                                room_id=f"{creator}-room",
                                gift_sku="rose",
                                quantity=1,
                                unit_price_coins=10,
                                total_coins=10,
                                producer="soak",
                            )
                        )
                        sent += 1
                    wire.flush(30)
                else:
                    time.sleep(0.2)
        elapsed = time.monotonic() - started
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < 300:
            lag = platform.lag()
            with psycopg.connect(settings.postgres.dsn()) as conn:
                settled, coins = conn.execute(SETTLED, {"wallets": f"user_coins:{prefix}-%"}).fetchone() or (
                    0,
                    0,
                )
                backlog = (conn.execute("SELECT count(*) FROM ledger_outbox").fetchone() or (0,))[0]
            ch = ch_facts(settings, prefix, "-", "-")
            if lag == 0 and backlog == 0 and (ch["settled"], ch["settled_coins"]) == (settled, coins):
                break
            time.sleep(2)
        sums, overdrawn = ledger_audit(settings)
    finally:
        wire.close()
        platform.stop()
    verdicts = {name: flat(samples) for name, samples in memory.items()}
    return {
        "gifts": gifts,
        "seconds": round(elapsed, 1),
        "gifts_per_s": round(gifts / elapsed),
        "settled_pg": int(settled),
        "settled_ch": ch["settled"],
        "coins_pg": int(coins),
        "coins_ch": ch["settled_coins"],
        "lag": lag,
        "outbox_backlog": int(backlog),
        "conservation": sum(abs(v) for v in sums.values()),
        "negative": len(overdrawn),
        "memory_mb": {
            name: {"second_quarter": round(v[1], 1), "last_quarter": round(v[2], 1), "flat": v[0]}
            for name, v in verdicts.items()
        },
        "ok": all(v[0] for v in verdicts.values())
        and (ch["settled"], ch["settled_coins"]) == (settled, coins)
        and lag == 0
        and backlog == 0
        and not overdrawn
        and all(v == 0 for v in sums.values()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gifts", type=int, default=1_000_000)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument(
        "--max-lag", type=int, default=40_000, help="gifts in flight before the producer waits"
    )
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "soak.json")
    args = parser.parse_args(argv)
    result = soak(Settings(), args.gifts, args.senders, args.max_lag)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
