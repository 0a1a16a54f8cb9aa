"""`make bench-ledger`: gifts settled per second by the batched settlement (one PostgreSQL
transaction per batch, idempotent by gift id, every guarantee on), against a naive settlement
doing one transaction per gift, in the same run, on the real PostgreSQL.

    python -m bench.ledger          # 60,000 gifts batched, 3,000 naive
    QUICK=1 python -m bench.ledger  # 12,000 gifts batched, 1,000 naive

Then end to end: gift requests over HTTP to the API (uvicorn), Kafka, the fraud agent, the
settlement agent, PostgreSQL and the settled event on ``gifts.outcomes``, all on this machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import confluent_kafka
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.telemetry import describe as describe_cost
from bench.telemetry import maybe_sampled, sampled_cost, telemetry_cost, telemetry_env
from ops.otlp import otlp_receiver
from ops.processes import service_pids, tree_cpu_seconds
from ops.seed import fund_wallets, live_room, open_rooms_async
from serving.auth.tokens import issue
from streams.bus.admin import start_group_at_end
from streams.contracts.base import Role
from streams.contracts.gifts import GiftSettled
from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, GiftRequest, Transfer
from streams.ledger.store import PostgresLedger
from streams.postgres.migrate import migrate
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from streams.worker import CONSUMED

QUICK = os.environ.get("QUICK") == "1"
GIFTS = 12_000 if QUICK else 60_000
NAIVE_GIFTS = 1_000 if QUICK else 3_000
E2E_GIFTS = 1_000 if QUICK else 4_000
E2E_CONCURRENCY = 64
# Also once open-loop, at a rate this machine sustains (about half of what the closed loop
# reaches): a gift is sent on schedule whether or not earlier ones were answered, and its latency
# counts from its scheduled time. The closed loop measures capacity, where every gift also waits
# behind the backlog; this one measures a gift's way through the platform at a steady load.
OPEN_LOOP_RATE = 150
OPEN_LOOP_S = 10 if QUICK else 20
# End-to-end runs with telemetry off, on, on, off (ABBA: a machine drifting over the run, or
# warming up, weighs on both sides alike); medians over the rounds.
TELEMETRY_ORDER = (False, True, True, False)
SENDERS = 2_000
CREATORS = 50
BATCH = 1_000
WORKERS = 2  # settlement workers, each owning the senders of its Kafka partitions
RESULTS = REPO_ROOT / "bench" / "results" / "ledger.json"
# The local services a gift passes through (PostgreSQL's backends are its children).
GIFT_SERVICES = ("kafka", "postgres", "redis")
PROFILES = REPO_ROOT / ".cache" / "bench" / "profiles" / "ledger"


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
    await fund_wallets(ledger, [f"{run}s{i}" for i in range(SENDERS)], 1_000_000, "bench")


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
        audit = await ledger.audit()
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
        "p99_scope": "settlement step: a gift's wait for its batch's commit",
        "batch": BATCH,
        "workers": WORKERS,
        "replay_batch_ms": round(replay_ms, 1),
        "conserved": all(v == 0 for v in audit.sums.values()),
        "overdrawn_wallets": len(audit.overdrawn),
        "reconciled": not audit.unreconciled,
        "measured_at": datetime.now(UTC).isoformat(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def end_to_end(
    settings: Settings, telemetry: dict[str, str], profiles: Path | None = None, rate: float | None = None
) -> dict[str, Any]:
    """HTTP -> API -> Kafka -> fraud -> settlement -> PostgreSQL -> gifts.outcomes, the API and
    the worker run with ``telemetry`` in their environment. With ``profiles``, py-spy samples the
    API and the worker over the measured window, for telemetry's share of their CPU. With
    ``rate``, gifts are sent open-loop at that many a second (see ``OPEN_LOOP_RATE``), else as
    fast as ``E2E_CONCURRENCY`` requests in flight allow."""
    n_gifts = round(rate * OPEN_LOOP_S) if rate is not None else E2E_GIFTS
    run = uuid.uuid4().hex[:6]
    app_id = f"bench-e2e-{run}"
    start_group_at_end(settings.kafka.bootstrap_servers, app_id, CONSUMED)
    logs = REPO_ROOT / ".cache" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "PLATFORM_LOG_FORMAT": "json", **telemetry}
    api = subprocess.Popen(
        [sys.executable, "-m", "serving.api", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=(logs / "bench-api.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams.worker", "--app-id", app_id, "--loglevel", "warn"],
        cwd=REPO_ROOT,
        env=env,
        stdout=(logs / "bench-worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    outcomes_topic = TOPICS.for_event(GiftSettled).name
    settled_at: dict[str, float] = {}
    stop = threading.Event()
    reading = threading.Event()

    def read_outcomes() -> None:
        """Owns its consumer from start to close (a consumer must not be closed under a poll)."""
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": f"bench-e2e-reader-{run}",
                "enable.auto.commit": False,
            }
        )
        tps = []
        for p in range(TOPICS.get(outcomes_topic).partitions):
            _, high = consumer.get_watermark_offsets(
                confluent_kafka.TopicPartition(outcomes_topic, p), timeout=10
            )
            tps.append(confluent_kafka.TopicPartition(outcomes_topic, p, high))
        consumer.assign(tps)
        reading.set()
        try:
            while not stop.is_set():
                msg = consumer.poll(0.2)
                if msg is None or msg.error() is not None:
                    continue
                gift_id = json.loads(msg.value() or b"{}").get("gift_id")
                settled_at.setdefault(gift_id, time.monotonic())
        finally:
            consumer.close()

    reader = threading.Thread(target=read_outcomes, daemon=True)
    reader.start()
    reading.wait(30)
    try:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=2, open=False)
        await pool.open(wait=True)
        senders = [f"e2e{run}s{i}" for i in range(200)]
        await PostgresLedger(pool).post(
            [
                Transfer(
                    uuid.uuid4(),
                    uuid.uuid4(),
                    "topup",
                    Flags.POSTED,
                    COINS,
                    1_000_000,
                    COIN_ISSUANCE,
                    f"user_coins:{s}",
                    "bench",
                )
                for s in senders
            ]
        )
        await pool.close()
        e2e_creators = [f"e2e{run}c{i}" for i in range(20)]
        await open_rooms_async(settings, {live_room(c): c for c in e2e_creators})
        secret = settings.auth.token_secret.get_secret_value()
        tokens = {s: issue(secret, s, [Role.VIEWER]) for s in senders}
        sent_at: dict[str, float] = {}
        answered_ms: list[float] = []
        # aiohttp as the load generator: httpx's async client tops out near 140 requests/s here,
        # which would measure the client, not the platform.
        connector = aiohttp.TCPConnector(limit=E2E_CONCURRENCY)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as client:
            for _ in range(300):
                try:
                    async with client.get("/readyz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(8)  # the worker joins its consumer group
            semaphore = asyncio.Semaphore(E2E_CONCURRENCY)

            async def one(i: int, start: float) -> None:
                sender = senders[i % len(senders)]
                if rate is not None:
                    await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                async with semaphore:
                    t = time.monotonic() if rate is None else start + i / rate
                    async with client.post(
                        "/v1/gifts",
                        json={
                            "creator_id": e2e_creators[i % 20],
                            "room_id": live_room(e2e_creators[i % 20]),
                            "gift_sku": "rose",
                        },
                        headers={"Authorization": f"Bearer {tokens[sender]}", "Idempotency-Key": f"e2e-{i}"},
                    ) as r:
                        r.raise_for_status()
                        sent_at[(await r.json())["gift_id"]] = t
                        answered_ms.append((time.monotonic() - t) * 1000)

            pace = f"open-loop at {rate:g}/s" if rate is not None else f"{E2E_CONCURRENCY} in flight"
            print(
                f"end to end: {n_gifts:,} gifts over HTTP, {pace}, telemetry {telemetry['OBSERVE_TELEMETRY']} ...",
                flush=True,
            )
            processes = {
                "api": api.pid,
                "worker": worker.pid,
                **service_pids(settings.local.run_dir, settings.local.log_dir, *GIFT_SERVICES),
            }
            cpu_before = {name: tree_cpu_seconds(pid) for name, pid in processes.items()}
            cpu_before["load generator"] = time.process_time()
            with maybe_sampled({"api": api.pid, "worker": worker.pid}, profiles) as recorded:
                first = time.monotonic()
                await asyncio.gather(*(one(i, first) for i in range(n_gifts)))
                accepted_s = time.monotonic() - first
                deadline = time.monotonic() + 180
                while len(set(sent_at) & set(settled_at)) < len(sent_at) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                cpu_after = {name: tree_cpu_seconds(pid) for name, pid in processes.items()}
            cpu_after["load generator"] = time.process_time()
        done = [g for g in sent_at if g in settled_at]
        cpu_us = {name: round((cpu_after[name] - cpu_before[name]) / len(done) * 1e6) for name in cpu_before}
        print("CPU per gift: " + ", ".join(f"{name} {us:,} µs" for name, us in cpu_us.items()), flush=True)
        latencies = sorted((settled_at[g] - sent_at[g]) * 1000 for g in done)
        last = max(settled_at[g] for g in done)
        sampled_figures = {"telemetry_sampled": sampled_cost(cpu_us, recorded)} if recorded else {}
        return {
            **sampled_figures,
            "e2e_gifts": len(done),
            "e2e_gifts_per_s": round(len(done) / (last - first)),
            "api_accepted_per_s": round(len(sent_at) / accepted_s),
            "p50_request_to_settled_ms": round(latencies[len(latencies) // 2], 1),
            "p99_request_to_settled_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
            "api_p50_ms": round(statistics.median(answered_ms), 1),
            "api_p99_ms": round(sorted(answered_ms)[int(0.99 * (len(answered_ms) - 1))], 1),
            "cpu_us_per_gift": cpu_us,
            "cpu_us_per_gift_total": sum(cpu_us.values()),
        }
    finally:
        stop.set()
        reader.join(10)
        for proc in (api, worker):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    result = asyncio.run(main_async())
    settings = Settings()
    # Telemetry off and on in the same run: the headline figures are the first run with it on
    # (as deployed); the cost is the ratio of the medians of platform CPU per gift.
    with otlp_receiver() as (endpoint, spans):
        runs = [
            (on, asyncio.run(end_to_end(settings, telemetry_env(on, endpoint)))) for on in TELEMETRY_ORDER
        ]
        # One more run with telemetry on, sampled by py-spy: not one of the runs above, since
        # py-spy takes CPU from the same two cores.
        print("end to end once more, telemetry on, sampled by py-spy ...", flush=True)
        profiled = asyncio.run(end_to_end(settings, telemetry_env(True, endpoint), PROFILES))
        exported = len(spans)
        steady = asyncio.run(end_to_end(settings, telemetry_env(True, endpoint), rate=OPEN_LOOP_RATE))
    e2e = next(run for on, run in runs if on)
    print(
        f"  {e2e['e2e_gifts_per_s']:,} gifts/s end to end; request -> settled p50 "
        f"{e2e['p50_request_to_settled_ms']} ms, p99 {e2e['p99_request_to_settled_ms']} ms",
        flush=True,
    )
    result.update(e2e)
    result["open_loop"] = {"offered_gifts_per_s": OPEN_LOOP_RATE, **steady}
    print(
        f"  open-loop at {OPEN_LOOP_RATE}/s: {steady['e2e_gifts_per_s']:,} gifts/s settled; request -> "
        f"settled p50 {steady['p50_request_to_settled_ms']} ms, p99 {steady['p99_request_to_settled_ms']} ms; "
        f"API answers p50 {steady['api_p50_ms']} ms, p99 {steady['api_p99_ms']} ms",
        flush=True,
    )
    cost = telemetry_cost(
        [run["cpu_us_per_gift"] for on, run in runs if on],
        [run["cpu_us_per_gift"] for on, run in runs if not on],
        "gift (API, worker, Kafka, PostgreSQL, Redis; µs)",
        exported,
    )
    cost["sampled"] = profiled["telemetry_sampled"]
    result["telemetry_cost"] = cost
    print(describe_cost(cost), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    return 0 if result["conserved"] and not result["overdrawn_wallets"] and result["reconciled"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
