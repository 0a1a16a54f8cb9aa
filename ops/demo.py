"""`make demo`: the platform's main job, for now a round trip that proves every store is real.

Contract events are produced with confluent-kafka; the Faust worker's probe agent consumes
them, records each in a PostgreSQL transaction and announces it on Redis pub/sub; the
event_log sink writes everything to ClickHouse; a poison record lands in its dead-letter
topic with the reason. Each step prints what happened and how long it took.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import redis
from psycopg_pool import AsyncConnectionPool

from ops.demo_processes import Background, start_background
from ops.live_demo import live_demo
from ops.processes import log_tail, stop
from ops.rooms_demo import rooms_demo
from ops.seed import open_rooms
from ops.simulate import simulate, simulated_rooms, viewer_ids
from streams.bus.admin import group_lag, start_group_at_end
from streams.bus.consumer import headers_of
from streams.bus.deadletter import reason_of
from streams.bus.producer import EventProducer
from streams.bus.scan import find_record
from streams.bus.wire import KafkaWire
from streams.contracts.chat import ChatMessageSubmitted
from streams.contracts.gifts import GiftRequested
from streams.contracts.probes import PlatformProbe
from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.ledger.store import Audit, PostgresLedger
from streams.probes.handlers import channel_for
from streams.settings import Settings
from streams.topics import TOPICS
from streams.worker import CONSUMED
from warehouse.catalog import get
from warehouse.client import connect
from warehouse.render import render
from warehouse.schema import RAW_TABLES

PROBES = 200
PROBE_RATE_PER_S = 200
CHATS = 60
REACTIONS = 120
SIMULATED_EVENTS = 20_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


EVENT_LOG_GROUP = "sink.event_log"
CAUGHT_UP = 1_000
CATCH_UP_S = 600


def catch_up(settings: Settings, sink: Background) -> None:
    """The event_log sink runs in the platform's own consumer group, so it first writes what
    tests and benchmarks left in the topics since it last ran (a `make bench-sink` leaves
    ~700,000 records). Wait for it, showing progress, so that the round trip below times this
    run's records and not that backlog."""
    deadline = time.monotonic() + CATCH_UP_S
    shown = 0.0
    while time.monotonic() < deadline:
        sink.check()
        behind = group_lag(settings.kafka.bootstrap_servers, EVENT_LOG_GROUP, list(TOPICS))
        if behind <= CAUGHT_UP:
            return
        if time.monotonic() - shown >= 5:
            shown = time.monotonic()
            print(
                f"event_log  catching up: {behind:,} records left in the topics by earlier runs ...",
                flush=True,
            )
        time.sleep(1)
    print(f"event_log  still behind after {CATCH_UP_S} s; the round trip below waits behind that backlog")


def main() -> int:
    settings = Settings()
    run_id = "demo-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    print(f"round trip {run_id}\n")
    with ExitStack() as cleanup:
        # The demo's own consumer group, started at the end of the worker's topics: the demo
        # shows this run's traffic, not a backlog that tests and benchmarks left in the topics.
        app_id = f"demo-{run_id[-6:]}"
        start_group_at_end(settings.kafka.bootstrap_servers, app_id, CONSUMED)
        worker = start_background(settings, "demo-worker", ["-m", "streams.worker", "--app-id", app_id])
        cleanup.callback(stop, worker.files)
        sink = start_background(
            settings,
            "demo-sink",
            ["-m", "pipelines.event_log", "--group", EVENT_LOG_GROUP, "--max-wait", "0.5"],
        )
        cleanup.callback(stop, sink.files)
        warehouse_sink = start_background(
            settings, "demo-warehouse-sink", ["-m", "pipelines.warehouse", "--max-wait", "0.5"]
        )
        cleanup.callback(stop, warehouse_sink.files)
        relay = start_background(settings, "demo-outbox-relay", ["-m", "streams.ledger.relay"])
        cleanup.callback(stop, relay.files)

        r = redis.Redis.from_url(settings.redis.url)
        pubsub = r.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(channel_for(run_id))
        pubsub.get_message(timeout=1.0)  # subscription confirmation
        wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="demo")
        cleanup.callback(wire.close)
        producer = EventProducer(wire)

        # 1. Faust worker: wait until its agent answers a first probe (group join, assignment).
        t0 = time.monotonic()
        producer.send_sync(PlatformProbe(run_id=run_id, seq=0, note="warm-up", producer="demo"))
        first = None
        while first is None:
            worker.check()
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "message":
                first = json.loads(message["data"])
            if time.monotonic() - t0 > 90:
                raise SystemExit(f"no probe receipt after 90 s:\n{log_tail(worker.files)}")
        ready_s = time.monotonic() - t0
        print(f"faust      worker joined and answered the first probe in {ready_s:.1f}s")
        catch_up(settings, sink)

        # Receipts are timed on arrival by a listener thread, so the steps below can overlap.
        arrived: dict[str, float] = {}
        done = threading.Event()

        def listen() -> None:
            while not done.is_set():
                message = pubsub.get_message(timeout=0.2)
                if message and message["type"] == "message":
                    arrived[str(json.loads(message["data"])["event_id"])] = time.monotonic()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        cleanup.callback(done.set)

        # 2. Produce: probes (paced), chat, reactions (typed producer) and one poison record (raw bytes).
        sent_at: dict[str, float] = {}
        t_produce = time.monotonic()
        futures = []
        event_ids: list[str] = [str(first["event_id"])]
        for seq in range(1, PROBES + 1):
            probe = PlatformProbe(run_id=run_id, seq=seq, producer="demo")
            sent_at[str(probe.event_id)] = time.monotonic()
            futures.append(producer.submit(probe))
            time.sleep(1 / PROBE_RATE_PER_S)
            event_ids.append(str(probe.event_id))
        for i in range(CHATS):
            chat = ChatMessageSubmitted(
                message_id=uuid.uuid4(),
                room_id=f"room-{i % 3}",
                user_id=f"viewer-{i % 17}",
                text=f"hello from {run_id} #{i}",
                producer="demo",
            )
            futures.append(producer.submit(chat))
            event_ids.append(str(chat.event_id))
        kinds = list(ReactionKind)
        for i in range(REACTIONS):
            reaction = ReactionSubmitted(
                room_id=f"room-{i % 3}",
                user_id=f"viewer-{i % 23}",
                reaction=kinds[i % len(kinds)],
                producer="demo",
            )
            futures.append(producer.submit(reaction))
            event_ids.append(str(reaction.event_id))
        poison_key = run_id.encode()
        futures.append(
            wire.produce(
                TOPICS.for_event(ChatMessageSubmitted).name,
                b'{"event_type": "chat.message.submitted", "text": 42}',
                key=poison_key,
            )
        )
        for f in futures:
            f.result(timeout=30)
        acked = time.monotonic()
        produce_ms = (acked - t_produce) * 1000
        print(
            f"kafka      {len(futures)} records acknowledged (acks=all) in {produce_ms:.0f} ms: "
            f"{PROBES} probes at {PROBE_RATE_PER_S}/s, {CHATS} chat, {REACTIONS} reactions, 1 poison"
        )

        # 3. ClickHouse: every produced event queryable in event_log (the sink batches ~0.5 s).
        ch = settings.clickhouse
        client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
        cleanup.callback(client.close)
        found = 0
        while time.monotonic() - acked < 60:
            sink.check()
            found = int(
                client.query(
                    "SELECT count() FROM event_log FINAL WHERE event_id IN {ids:Array(UUID)}",
                    parameters={"ids": event_ids},
                ).result_rows[0][0]
            )
            if found >= len(event_ids):
                break
            time.sleep(0.05)
        queryable_s = time.monotonic() - acked
        by_type = client.query(
            "SELECT event_type, count() FROM event_log FINAL WHERE event_id IN {ids:Array(UUID)} "
            "GROUP BY event_type ORDER BY event_type",
            parameters={"ids": event_ids},
        ).result_rows
        print(
            f"clickhouse {found}/{len(event_ids)} events queryable in event_log {queryable_s:.2f}s after the "
            f"last ack (ClickHouse {client.server_version}): " + ", ".join(f"{k} {v}" for k, v in by_type)
        )

        # 4. Redis pub/sub: every probe receipt announced by the agent, timed from its send.
        deadline = time.monotonic() + 60
        while not all(eid in arrived for eid in sent_at) and time.monotonic() < deadline:
            worker.check()
            time.sleep(0.05)
        latencies = [(arrived[eid] - sent) * 1000 for eid, sent in sent_at.items() if eid in arrived]
        print(
            f"redis      {len(latencies)}/{PROBES} probe receipts via pub/sub; produce -> Faust -> PostgreSQL "
            f"-> Redis p50 {statistics.median(latencies):.0f} ms, p99 {pct(latencies, 0.99):.0f} ms"
        )

        # 5. PostgreSQL: the receipts the agent wrote, one row per event id.
        t = time.monotonic()
        with psycopg.connect(settings.postgres.dsn()) as conn, conn.transaction():
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM probe_receipts WHERE run_id = %s", (run_id,)
            ).fetchone() or (0, 0)
        print(
            f"postgres   {rows} receipts ({distinct} distinct event ids) for this run, read in {(time.monotonic() - t) * 1000:.0f} ms"
        )

        # 6. Dead letters: the poison record, moved aside with the reason and its source offset.
        dlq_topic = TOPICS.for_event(ChatMessageSubmitted).dead_letter
        dead = find_record(settings.kafka.bootstrap_servers, dlq_topic, lambda m: m.key() == poison_key)
        info = reason_of(headers_of(dead)) if dead is not None else None
        if info is None:
            print(f"dlq        poison record NOT found in {dlq_topic}")
            return 1
        print(
            f"dlq        poison record in {dlq_topic}: {info.kind}: {info.reason!r} "
            f"(from {info.topic}[{info.partition}]@{info.offset}, by {info.consumer})"
        )
        ok = len(latencies) == PROBES and rows == PROBES + 1 == distinct and found == len(event_ids)
        print("\nround trip " + ("complete: every store answered" if ok else "INCOMPLETE"))
        if not ok:
            return 1
        if not rooms_demo(settings, run_id, sys.executable):
            print("rooms      INCOMPLETE: some chat was not delivered")
            return 1
        if simulation(settings, run_id, producer, client, warehouse_sink) != 0:
            return 1
        # The live stream stays on air for a browser; its QoS beacons reach ClickHouse through
        # this run's warehouse sink.
        return 0 if live_demo(settings, client) else 1


async def top_up(settings: Settings, viewers: list[str], seed: int) -> int:
    """Each simulated viewer buys coins: a pending top-up, captured as a payment provider would."""
    rng = random.Random(seed)
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    total = 0
    try:
        ledger = PostgresLedger(pool, creator_share_bps=settings.money.creator_share_bps)
        expires = datetime.now(UTC) + timedelta(minutes=30)
        for viewer in viewers:
            coins = rng.choice([100, 300, 500, 1000, 2500])
            topup = uuid.uuid4()
            await ledger.topup_pending(topup, viewer, coins, expires)
            await ledger.topup_capture(topup)
            total += coins
    finally:
        await pool.close()
    return total


async def ledger_audit(settings: Settings) -> Audit:
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    try:
        return await PostgresLedger(pool).audit()
    finally:
        await pool.close()


def simulation(
    settings: Settings, run_id: str, producer: EventProducer, client: Any, sink: Background
) -> int:
    """Ten simulated minutes of platform traffic, then what a product manager would ask of it."""
    print(f"\nsimulation: {SIMULATED_EVENTS} events of platform traffic over the last 10 minutes")
    t = time.monotonic()
    viewers = viewer_ids(run_id, SIMULATED_EVENTS)
    open_rooms(settings, simulated_rooms(run_id))
    coins = asyncio.run(top_up(settings, viewers, seed=42))
    print(
        f"ledger     {len(viewers)} viewers topped up {coins:,} coins (pending, then captured) in {time.monotonic() - t:.1f}s"
    )
    start = datetime.now(UTC) - timedelta(minutes=10)
    t = time.monotonic()
    produced = 0
    futures = []
    gift_ids: list[str] = []
    for event in simulate(
        run_id, SIMULATED_EVENTS, start, timedelta(minutes=10), seed=42, gift_requests=True
    ):
        futures.append(producer.submit(event))
        produced += 1
        if isinstance(event, GiftRequested):
            gift_ids.append(str(event.gift_id))
    for f in futures:
        f.result(timeout=60)
    acked = time.monotonic()
    print(f"kafka      {produced} events acknowledged in {acked - t:.1f}s ({produced / (acked - t):,.0f}/s)")
    tables = [t.name for t in RAW_TABLES]
    counted = 0
    while time.monotonic() - acked < 120:
        sink.check()
        counted = sum(
            int(
                client.query(
                    f"SELECT count() FROM {name} WHERE producer = {{p:String}}",
                    parameters={"p": f"sim-{run_id}"[:64]},
                ).result_rows[0][0]
            )
            for name in tables
        )
        if counted >= produced:
            break
        time.sleep(0.2)
    print(
        f"clickhouse {counted}/{produced} in the raw tables and views {time.monotonic() - acked:.1f}s after the last ack"
    )
    outcomes: list[Any] = []
    while time.monotonic() - acked < 120:
        outcomes = list(
            client.query(
                "SELECT event_type, count(), sum(total_coins) FROM gift_events FINAL "
                "WHERE gift_id IN {ids:Array(UUID)} AND event_type != 'gift.requested' GROUP BY event_type",
                parameters={"ids": gift_ids},
            ).result_rows
        )
        if sum(int(r[1]) for r in outcomes) >= len(gift_ids):
            break
        time.sleep(0.3)
    decided = {r[0]: (int(r[1]), int(r[2])) for r in outcomes}
    settled, settled_coins = decided.get("gift.settled", (0, 0))
    rejected, _ = decided.get("gift.rejected", (0, 0))
    print(
        f"gifts      {len(gift_ids)} requested -> settlement agent -> {settled} settled ({settled_coins:,} coins), "
        f"{rejected} rejected; every outcome in ClickHouse {time.monotonic() - acked:.1f}s after the last ack"
    )
    audit = asyncio.run(ledger_audit(settings))
    print(
        f"ledger     conservation per asset: {audit.sums} (all must be 0); accounts overdrawn: "
        f"{len(audit.overdrawn)}; account totals = transfers: {not audit.unreconciled}"
    )
    today = datetime.now(UTC).date().isoformat()
    for name, params in (
        ("top_streams", {"day": today, "limit": "200"}),
        ("gift_revenue_by_type", {"from_day": today, "to_day": today}),
        ("creator_earnings", {"from_day": today, "to_day": today}),
        ("qoe_by_stream", {"from_day": today, "to_day": today}),
    ):
        query = get(name)
        result = client.query(query.sql, parameters=query.bind(params))
        print(
            f"\n$ python -m warehouse query {name} " + " ".join(f"--param {k}={v}" for k, v in params.items())
        )
        rows = result.result_rows
        if name != "gift_revenue_by_type":  # the warehouse holds other runs too: show this one's rows
            rows = [r for r in rows if str(r[0]).startswith(run_id)]
        print(render(list(result.column_names), rows[:8], "table"))
    finance_ok = finance(run_id)
    return 0 if counted >= produced and settled + rejected == len(gift_ids) and audit.ok and finance_ok else 1


def finance(run_id: str) -> bool:
    """The day's payout batch over what the simulation earned (a preview: the Dagster job pays a
    day once it is over), then yesterday's partition materialized for real."""
    from dagster import DagsterInstance, materialize

    from orchestration import dagster_home
    from orchestration.definitions import ASSETS, QUIET
    from orchestration.preview import preview_batch
    from orchestration.resources import platform_resources

    dagster_home()
    resources = platform_resources(Settings())
    t = time.monotonic()
    result = preview_batch(resources["ledger"])
    ours = result.batch[result.batch["creator_id"].str.startswith(run_id)]
    print(
        f"\nfinance    today's payout batch as it stands: {len(result.batch)} payouts, "
        f"{int(result.batch['amount_cents'].sum()) if len(result.batch) else 0} cents, {len(result.excluded)} creators left out; "
        f"Great Expectations suite {'passed' if result.quality.passed else 'FAILED: ' + str(result.quality.failed)} "
        f"({time.monotonic() - t:.1f}s); this run's creators:"
    )
    print(
        ours[["creator_id", "coins", "amount_cents", "currency"]].to_string(index=False)
        if len(ours)
        else "(none)"
    )
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    t = time.monotonic()
    run = materialize(
        ASSETS,
        partition_key=yesterday,
        instance=DagsterInstance.get(),
        raise_on_error=False,
        run_config=QUIET,
        resources=resources,
    )
    checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
    print(
        f"finance    Dagster daily_payouts for {yesterday}: {'succeeded' if run.success else 'BLOCKED'} in "
        f"{time.monotonic() - t:.1f}s; checks {checks}; `make dagster` shows the run"
    )
    return bool(result.quality.passed and run.success)


if __name__ == "__main__":
    raise SystemExit(main())
