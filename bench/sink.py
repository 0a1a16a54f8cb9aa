"""`make bench-sink`: Kafka -> ClickHouse sink throughput against a direct insert, freshness under
steady load, one and two sink processes draining one backlog (scale-out), and dashboard queries
through the live aggregates against the raw tables.

    python -m bench.sink            # full: 300k events through the sink, 10M rows for the dashboards
    QUICK=1 python -m bench.sink    # short: 60k events, 1M rows

Everything runs on the real local Kafka and ClickHouse server, in throwaway databases and its own
copy of the topics (`bench.*`, deleted at the end), so the platform's consumer groups never see it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.processes import cpu_seconds, machine_busy_seconds, service_pids, stop_child, tree_cpu_seconds
from ops.simulate import simulate
from pipelines.warehouse.rows import ColumnBatch
from pipelines.warehouse.runner import BatchCollector, run_pipelined
from pipelines.warehouse.sink import WarehouseWriter, sink_topics, warehouse_consumer
from streams.bus.admin import delete_topics, ensure_topics, start_group_at_end, wait_for_assignment
from streams.bus.consumer import Batch, Received
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.producer import event_headers
from streams.bus.wire import KafkaWire
from streams.contracts.codec import encode
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from streams.tracing import header_value, trace_id_of
from warehouse.catalog import get
from warehouse.client import connect
from warehouse.migrate import migrate
from warehouse.schema import TABLES_BY_EVENT

QUICK = os.environ.get("QUICK") == "1"
EVENTS = 60_000 if QUICK else 300_000
STEADY_RATE = 2_000
STEADY_SECONDS = 8 if QUICK else 20
SCALE_EVENTS = 60_000 if QUICK else 300_000
DASHBOARD_ROWS = 1_000_000 if QUICK else 10_000_000
RESULTS = REPO_ROOT / "bench" / "results" / "sink.json"
# The bench's own copy of the topics, deleted when it ends: the platform's sink groups never see
# the ~700,000 records a full run produces.
NAMESPACE = "bench."
BENCH_TOPICS = TOPICS.namespaced(NAMESPACE)


def say(text: str) -> None:
    print(text, flush=True)


def produce_raw(wire: KafkaWire, events: list[Any]) -> float:
    """Produce pre-built contract events (already valid) as fast as librdkafka takes them."""
    t = time.monotonic()
    for i, event in enumerate(events):
        spec = BENCH_TOPICS.for_event(type(event))
        wire.produce(spec.name, encode(event), key=spec.key_of(event), headers=event_headers(event))
        if i % 20_000 == 0 and i:
            say(f"  produced {i:,}/{len(events):,}")
    wire.flush(120)
    return time.monotonic() - t


def sink_throughput(
    settings: Settings, wire: KafkaWire, database: str
) -> tuple[float, float, list[Received]]:
    """Rows/s through consume, decode, gates and insert, and the sink's CPU microseconds per row."""
    group = f"bench-sink-{uuid.uuid4().hex[:8]}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics(BENCH_TOPICS))
    events = list(simulate(group, EVENTS, datetime.now(UTC) - timedelta(hours=1), timedelta(hours=1), seed=3))
    events = [e for e in events if type(e) in TABLES_BY_EVENT]
    say(f"sink: producing {len(events):,} events to Kafka ...")
    seconds = produce_raw(wire, events)
    say(f"  {len(events) / seconds:,.0f} events/s produced")
    client = connect(settings.clickhouse.url, database=database)
    writer = WarehouseWriter(client, group)
    consumer = warehouse_consumer(
        settings.kafka.bootstrap_servers, group, BENCH_TOPICS, DeadLetterPublisher(wire, group, BENCH_TOPICS)
    )
    # Only counted: keeping every decoded event alive here (as this bench once did, for the
    # direct insert) made each young collection of the sink's loop scan all of them again,
    # ~8 % of the measured time that a deployed sink, which lets a batch go once committed,
    # never spends. The direct insert gets the same events from the list produced.
    committed_rows = 0
    stop = threading.Event()
    first_seen: list[float] = []
    last_commit: list[float] = []

    def polled(batch: Batch) -> None:
        if batch.events and not first_seen:
            first_seen.append(time.monotonic())

    def committed(batch: Batch) -> None:
        nonlocal committed_rows
        committed_rows += len(batch.events)
        last_commit[:] = [time.monotonic(), time.process_time()]
        say(f"  sink committed {committed_rows:,}/{len(events):,}")
        if committed_rows >= len(events):
            stop.set()

    first = time.monotonic()
    cpu = time.process_time()  # every thread of this process: consume, decode and insert threads
    timer = threading.Timer(300, stop.set)
    timer.start()
    run_pipelined(
        consumer, writer, stop, max_records=50_000, max_wait_s=0.5, on_committed=committed, on_polled=polled
    )
    timer.cancel()
    # From the first record consumed (not the group join) to the last commit (not the loop's
    # shutdown after it, which gives garbage collection back to the interpreter).
    ended, cpu_ended = last_commit if last_commit else (time.monotonic(), time.process_time())
    cpu_us_per_row = (cpu_ended - cpu) / max(1, committed_rows) * 1e6
    consumer.close()
    writer.close()
    started_at = first_seen[0] if first_seen else first
    received = [
        Received(
            e, BENCH_TOPICS.for_event(type(e)).name, 0, i, 0, trace_id_of(header_value(event_headers(e)))
        )
        for i, e in enumerate(events)
    ]
    return committed_rows / (ended - started_at), cpu_us_per_row, received


def direct_throughput(settings: Settings, database: str, received: list[Received]) -> float:
    """The ceiling: the same rows, already decoded and in columns, inserted with clickhouse-connect."""
    client = connect(settings.clickhouse.url, database=database)
    batches: dict[str, ColumnBatch] = {}
    for r in received:
        table = TABLES_BY_EVENT[type(r.event)]
        if table.name not in batches:
            batches[table.name] = ColumnBatch(table)
        batches[table.name].add(r)
    chunks = []
    for columns in batches.values():
        size = 50_000
        for lo in range(0, columns.count, size):
            chunks.append((columns.table.name, [c[lo : lo + size] for c in columns.columns], columns.names))
    # The same garbage-collection policy as the sink's loop, so the ceiling is not slowed by
    # the collector scanning the rows held in memory (that made it ~2x slower per row).
    with BatchCollector().owning_gc():
        t = time.monotonic()
        for name, cols, names in chunks:
            client.insert(name, cols, column_names=names, column_oriented=True, settings={"async_insert": 0})
        return len(received) / (time.monotonic() - t)


def freshness(settings: Settings, wire: KafkaWire, database: str) -> tuple[float, float]:
    """Steady load through a real sink process; freshness = _ingested_at - occurred_at per row."""
    group = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics(BENCH_TOPICS))
    sink = start_sink(group, database, "bench-sink", "--max-wait", "0.25")
    try:
        partitions = sum(spec.partitions for spec in sink_topics(BENCH_TOPICS))
        joined = wait_for_assignment(settings.kafka.bootstrap_servers, group, partitions)
        say(f"  sink joined its group in {joined:.1f}s")
        total = STEADY_RATE * STEADY_SECONDS
        say(
            f"freshness: {STEADY_RATE:,} events/s for {STEADY_SECONDS}s through `python -m pipelines.warehouse` ..."
        )
        gen = simulate(group, total * 2, datetime.now(UTC), timedelta(seconds=STEADY_SECONDS), seed=5)
        sent = 0
        t0 = time.monotonic()
        while sent < total:
            due = int((time.monotonic() - t0) * STEADY_RATE)
            while sent < min(due, total):
                event = next(gen)
                if type(event) not in TABLES_BY_EVENT:
                    continue
                event = event.model_copy(update={"occurred_at": datetime.now(UTC)})
                spec = BENCH_TOPICS.for_event(type(event))
                wire.produce(spec.name, encode(event), key=spec.key_of(event), headers=event_headers(event))
                sent += 1
            time.sleep(0.005)
        wire.flush(60)
        client = connect(settings.clickhouse.url, database=database)
        union = wait_for_rows(client, sent, timeout_s=60)
        p50, p99 = client.query(
            f"SELECT quantilesExact(0.5, 0.99)(dateDiff('millisecond', occurred_at, _ingested_at)) FROM ({union})"
        ).result_rows[0][0]
        return float(p50), float(p99)
    finally:
        stop_child(sink)


def start_sink(group: str, database: str, log_name: str, *args: str) -> subprocess.Popen[bytes]:
    """The deployable itself, `python -m pipelines.warehouse`, writing to the bench's database."""
    env = {**os.environ, "CLICKHOUSE_DATABASE": database, "PYTHONUNBUFFERED": "1"}
    with (REPO_ROOT / ".cache" / "logs" / f"{log_name}.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.warehouse",
                "--group",
                group,
                "--topic-namespace",
                NAMESPACE,
                *args,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for_rows(client: Any, expected: int, timeout_s: float) -> str:
    """Wait until the raw tables of the phase's own database hold ``expected`` rows; the union
    it counted. (Each phase writes a throwaway database, so every row in it is the phase's; the
    rows are not told apart by producer, since ledger postings carry the ledger outbox's.)"""
    tables = sorted({t.name for t in TABLES_BY_EVENT.values()})
    union = " UNION ALL ".join(f"SELECT occurred_at, _ingested_at FROM {t}" for t in tables)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n = client.query(f"SELECT count() FROM ({union})").result_rows[0][0]
        if n >= expected:
            return union
        time.sleep(0.5)
    raise RuntimeError(f"only part of {expected:,} rows arrived in {timeout_s:.0f}s")


class CpuWindow:
    """CPU used, in cores, by each named process tree and by the whole machine, sampled every
    ``every_s`` in the background so the cores of any stretch of the run can be read after."""

    def __init__(self, pids: dict[str, list[int]], every_s: float = 0.25) -> None:
        self._pids = pids
        self._samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every_s,), daemon=True)
        self._sample_once()
        self._thread.start()

    def _sample_once(self) -> None:
        used = {name: sum(tree_cpu_seconds(p) for p in ps) for name, ps in self._pids.items()}
        used["machine_busy"] = machine_busy_seconds()
        self._samples.append((time.time(), used))

    def _sample(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self._sample_once()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()

    def cores_between(self, start: float, end: float) -> dict[str, float]:
        """Cores used between two wall-clock instants (the samples nearest inside them)."""
        inside = [s for s in self._samples if start <= s[0] <= end] or self._samples
        (t0, first), (t1, last) = inside[0], inside[-1]
        seconds = max(t1 - t0, 1e-3)
        out = {name: round((last[name] - first[name]) / seconds, 2) for name in first}
        out["machine_cores"] = float(os.cpu_count() or 1)
        return out


def scale_out(
    settings: Settings, wire: KafkaWire, databases: list[str]
) -> dict[int, tuple[float, float, dict[str, float]]]:
    """One backlog drained by one, then by two, sink processes in one consumer group: rows/s,
    the processes' CPU microseconds per row (from their start to the last row), and the cores
    the sinks, ClickHouse's server, Kafka and the whole machine used meanwhile (what stops two
    sinks from adding up on a small machine).

    The rate is taken between the moments 10 % and 90 % of the rows had arrived, so the
    group join (and, for two, the rebalance as the second member joins) is left out."""
    groups = {n: f"bench-scale{n}-{uuid.uuid4().hex[:8]}" for n in (1, 2)}
    for group in groups.values():
        start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics(BENCH_TOPICS))
    producer = f"scale-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC) - timedelta(hours=1)
    events = [
        e
        for e in simulate(producer, SCALE_EVENTS, start, timedelta(hours=1), seed=7)
        if type(e) in TABLES_BY_EVENT
    ]
    say(f"scale-out: producing {len(events):,} events, then draining them with one and with two sinks ...")
    produce_raw(wire, events)
    rates = {}
    for (n, group), database in zip(groups.items(), databases, strict=True):
        client = connect(settings.clickhouse.url, database=database)
        sinks = [start_sink(group, database, f"bench-sink-scale{n}-{i}") for i in range(n)]
        services = service_pids(settings.local.run_dir, settings.local.log_dir, "clickhouse", "kafka")
        window = CpuWindow(
            {"sinks": [sink.pid for sink in sinks], **{n: [pid] for n, pid in services.items()}}
        )
        try:
            union = wait_for_rows(client, len(events), timeout_s=300)
            cpu_us = sum(cpu_seconds(sink.pid) for sink in sinks) / len(events) * 1e6
        finally:
            window.stop()
            for sink in sinks:
                stop_child(sink)
        t10, t90 = client.query(
            f"SELECT quantilesExact(0.1, 0.9)(toUnixTimestamp64Milli(_ingested_at)) FROM ({union})"
        ).result_rows[0][0]
        # The cores used while the rate was measured, not while the processes started.
        cores = window.cores_between(t10 / 1000, t90 / 1000)
        rates[n] = (0.8 * len(events) / max(0.001, (t90 - t10) / 1000), cpu_us, cores)
        say(
            f"  {n} sink process{'es' if n > 1 else ''}: {rates[n][0]:,.0f} rows/s, {cpu_us:.0f} µs CPU per row;"
            f" cores used: {', '.join(f'{k} {v}' for k, v in cores.items())}"
        )
    return rates


GENERATE = {
    "chat_events": """
        INSERT INTO chat_events (event_id, event_type, schema_version, occurred_at, producer, message_id, room_id,
                                 user_id, user_role, text, _topic, _partition, _offset)
        SELECT generateUUIDv4(number), 'chat.message.accepted', 1,
               toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + (number % 86400000) / 1000, 'bench',
               generateUUIDv4(number + 1), concat('room-', toString(number % 500)), concat('u', toString(number % 200000)),
               'viewer', 'hello', 'bench', 0, number
        FROM numbers({n:UInt64})""",
    "reactions": """
        INSERT INTO reactions (event_id, event_type, schema_version, occurred_at, producer, room_id, user_id, reaction,
                               _topic, _partition, _offset)
        SELECT generateUUIDv4(number), 'reaction.submitted', 1,
               toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + (number % 86400000) / 1000, 'bench',
               concat('room-', toString(number % 500)), concat('u', toString(number % 200000)), 'heart', 'bench', 0, number
        FROM numbers({n:UInt64})""",
    "ledger_postings": """
        INSERT INTO ledger_postings (event_id, event_type, schema_version, occurred_at, producer, transfer_id, posting_id,
                                     kind, state, asset, amount, debit_account, credit_account, reference_id,
                                     posted_at, _topic, _partition, _offset)
        SELECT generateUUIDv4(number), 'ledger.posted', 1,
               toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + (number % 86400000) / 1000, 'bench',
               generateUUIDv4(number + 2), generateUUIDv4(number + 3), 'gift', 'posted', 'COINS', 1 + number % 500,
               concat('user_coins:u', toString(number % 200000)), concat('creator_earnings:c', toString(number % 500)),
               'g', toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + (number % 86400000) / 1000, 'bench', 0, number
        FROM numbers({n:UInt64})""",
}

DASHBOARDS = {
    "creator_earnings": (
        ("creator_earnings", {"from_day": "2026-11-01", "to_day": "2026-11-01"}),
        """SELECT substring(credit_account, 18) AS creator_id, toDate(posted_at) AS day, toString(asset) AS a,
                  sum(amount) AS credited, count() AS postings
           FROM ledger_postings WHERE state = 'posted' AND startsWith(credit_account, 'creator_earnings:')
             AND toDate(posted_at) = '2026-11-01'
           GROUP BY creator_id, day, a ORDER BY creator_id, day""",
    ),
    "room_engagement": (
        ("top_streams", {"day": "2026-11-01", "limit": "20"}),
        """SELECT room_id, sum(m) AS messages, uniqExactMerge(c) AS chatters, sum(r) AS reactions FROM (
               SELECT room_id, count() AS m, uniqExactState(assumeNotNull(user_id)) AS c, 0 AS r FROM chat_events
               WHERE event_type = 'chat.message.accepted' AND toDate(occurred_at) = '2026-11-01' GROUP BY room_id
               UNION ALL
               SELECT room_id, 0, uniqExactState(''), count() FROM reactions
               WHERE toDate(occurred_at) = '2026-11-01' GROUP BY room_id)
           GROUP BY room_id ORDER BY messages DESC LIMIT 20""",
    ),
}


def timed(client: Any, sql: str, parameters: dict[str, Any] | None = None, runs: int = 5) -> float:
    client.query(sql, parameters=parameters)  # warm
    samples = []
    for _ in range(runs):
        t = time.monotonic()
        client.query(sql, parameters=parameters)
        samples.append((time.monotonic() - t) * 1000)
    return statistics.median(samples)


def dashboards(settings: Settings, database: str) -> dict[str, dict[str, float]]:
    client = connect(settings.clickhouse.url, database=database)
    shares = {"chat_events": 0.45, "reactions": 0.35, "ledger_postings": 0.20}
    say(f"dashboards: generating {DASHBOARD_ROWS:,} events server-side (through the views) ...")
    for table, share in shares.items():
        t = time.monotonic()
        client.command(GENERATE[table], parameters={"n": int(DASHBOARD_ROWS * share)})
        say(f"  {table}: {int(DASHBOARD_ROWS * share):,} rows in {time.monotonic() - t:.1f}s")
    client.command("OPTIMIZE TABLE room_engagement_minute FINAL")
    client.command("OPTIMIZE TABLE creator_earnings_daily FINAL")
    out = {}
    for name, ((query_name, params), raw_sql) in DASHBOARDS.items():
        query = get(query_name)
        out[name] = {
            "mv_ms": round(timed(client, query.sql, query.bind(params)), 1),
            "raw_ms": round(timed(client, raw_sql), 1),
        }
        say(f"  {name}: via views {out[name]['mv_ms']} ms, over raw tables {out[name]['raw_ms']} ms")
    return out


def main() -> int:
    settings = Settings()
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="bench-sink", extra={"linger.ms": 20})
    names = ("sink", "direct", "fresh", "dash", "scale1", "scale2")
    databases = [f"bench_{name}_{uuid.uuid4().hex[:6]}" for name in names]
    admin = connect(settings.clickhouse.url)
    ensure_topics(settings.kafka.bootstrap_servers, BENCH_TOPICS)
    try:
        for database in databases:
            migrate(connect(settings.clickhouse.url, database=database))
        sink_rate, sink_cpu_us, received = sink_throughput(settings, wire, databases[0])
        direct_rate = direct_throughput(settings, databases[1], received)
        say(
            f"sink {sink_rate:,.0f} rows/s vs direct insert {direct_rate:,.0f} rows/s ({sink_rate / direct_rate:.0%}),"
            f" sink CPU {sink_cpu_us:.0f} µs per row"
        )
        # The two throughput databases hold 2x300k rows whose parts the server is still merging;
        # freshness is about the sink at a steady rate, not about that backlog, so they go first.
        for database in databases[:2]:
            admin.command(f"DROP DATABASE IF EXISTS {database}")
        p50, p99 = freshness(settings, wire, databases[2])
        say(f"freshness p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        admin.command(f"DROP DATABASE IF EXISTS {databases[2]}")
        scale = scale_out(settings, wire, databases[4:6])
        for database in databases[4:6]:
            admin.command(f"DROP DATABASE IF EXISTS {database}")
        dash = dashboards(settings, databases[3])
    finally:
        wire.close()
        for database in databases:
            admin.command(f"DROP DATABASE IF EXISTS {database}")
        delete_topics(settings.kafka.bootstrap_servers, BENCH_TOPICS)
    result = {
        "quick": QUICK,
        "events": len(received),
        "sink_rows_per_s": round(sink_rate),
        "direct_rows_per_s": round(direct_rate),
        "sink_vs_direct": round(sink_rate / direct_rate, 3),
        "sink_cpu_us_per_row": round(sink_cpu_us, 1),
        "one_sink_process_rows_per_s": round(scale[1][0]),
        "one_sink_process_cpu_us_per_row": round(scale[1][1], 1),
        "one_process_vs_direct": round(scale[1][0] / direct_rate, 3),
        "two_sink_processes_rows_per_s": round(scale[2][0]),
        "two_sink_processes_cpu_us_per_row": round(scale[2][1], 1),
        "two_vs_one_process": round(scale[2][0] / scale[1][0], 2),
        "scale_out_cores": {"one_process": scale[1][2], "two_processes": scale[2][2]},
        "freshness_p50_ms": p50,
        "freshness_p99_ms": p99,
        "steady_rate_per_s": STEADY_RATE,
        "dashboard_rows": DASHBOARD_ROWS,
        "mv_query_ms": max(d["mv_ms"] for d in dash.values()),
        "raw_query_ms": max(d["raw_ms"] for d in dash.values()),
        "dashboards": dash,
        "measured_at": datetime.now(UTC).isoformat(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    say(json.dumps(result, indent=2))
    say(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
