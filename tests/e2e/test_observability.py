"""Observability end to end, on the real Prometheus and Alertmanager (Debian's packages): every
deployable the platform runs is found through file-based discovery and its metrics answer in
Prometheus's query API; stopping the warehouse sink makes the lag alert fire in Alertmanager
and arrive on Kafka as an ``ops.alert`` event, and restarting it resolves the alert."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from ops.observe import (
    alertmanager_argv,
    alertmanager_config,
    answers,
    ensure_observe_tools,
    prometheus_argv,
    prometheus_config,
)
from pipelines.warehouse.sink import sink_topics
from streams.bus.admin import start_group_at_end
from streams.bus.producer import EventProducer
from streams.contracts.codec import decode
from streams.contracts.ops import AlertStatus, OpsAlert
from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.metrics import targets_dir
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import eventually, free_port, spawn, stop_process

TOKEN = "t" * 40


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    answer = get_json(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


class Platform:
    def __init__(self, tmp_path: Path, settings: Settings) -> None:
        self.tmp = tmp_path
        self.settings = settings
        self.run = uuid.uuid4().hex[:8]
        self.group = f"sink.obs-{self.run}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.prometheus = f"http://127.0.0.1:{free_port()}"
        self.alertmanager = f"http://127.0.0.1:{free_port()}"
        self.api = f"http://127.0.0.1:{free_port()}"

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.procs[name] = spawn(args, self.tmp / f"{name}.log", env)

    def start_binary(self, name: str, argv: list[str]) -> None:
        with (self.tmp / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def start_sink(self) -> None:
        self.start("sink", ["-m", "pipelines.warehouse", "--group", self.group, "--max-wait", "0.2"])

    def stop(self, name: str) -> None:
        stop_process(self.procs.pop(name))

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def platform(tmp_path: Path, settings: Settings) -> Iterator[Platform]:
    ensure_observe_tools()
    p = Platform(tmp_path, settings)
    start_group_at_end(settings.kafka.bootstrap_servers, p.group, sink_topics())
    token = tmp_path / "token"
    token.write_text(TOKEN)
    (tmp_path / "alertmanager.yml").write_text(
        alertmanager_config(webhook_url=f"{p.api}/internal/v1/alerts", token_file=token)
    )
    (tmp_path / "prometheus.yml").write_text(
        prometheus_config(
            targets=targets_dir(settings.local.run_dir),
            alertmanager=p.alertmanager.removeprefix("http://"),
            scrape_interval_s=1,
        )
    )
    p.start_binary(
        "prometheus",
        prometheus_argv(tmp_path / "prometheus.yml", tmp_path / "tsdb", int(p.prometheus.rsplit(":", 1)[1])),
    )
    p.start_binary(
        "alertmanager",
        alertmanager_argv(
            tmp_path / "alertmanager.yml", tmp_path / "am", int(p.alertmanager.rsplit(":", 1)[1])
        ),
    )
    api_port = p.api.rsplit(":", 1)[1]
    p.start("api", ["-m", "serving.api", "--port", api_port], {"OBSERVE_WEBHOOK_TOKEN": TOKEN})
    p.start("gateway", ["-m", "serving.gateway", "--port", str(free_port()), "--node-id", f"gw-{p.run}"])
    p.start("worker", ["-m", "streams.worker", "--loglevel", "warn", "--app-id", f"obs-{p.run}"])
    p.start("relay", ["-m", "streams.ledger.relay"])
    origin = free_port()
    p.start(
        "media",
        [
            "-m",
            "media",
            "--rtmp-port",
            str(free_port()),
            "--srt-port",
            str(free_port()),
            "--origin-port",
            str(origin),
        ],
    )
    p.start(
        "exporter",
        ["-m", "streams.exporter"],
        {"OBSERVE_GROUPS": json.dumps([p.group]), "OBSERVE_LAG_EVERY_S": "1", "OBSERVE_AUDIT_EVERY_S": "5"},
    )
    p.start_sink()
    try:
        eventually(lambda: answers(f"{p.prometheus}/-/ready"), 60, "Prometheus ready")
        eventually(lambda: answers(f"{p.alertmanager}/-/ready"), 60, "Alertmanager ready")
        eventually(lambda: answers(f"{p.api}/healthz"), 60, "API answering")
        yield p
    finally:
        for name in list(p.procs):
            p.stop(name)


def reactions(producer: EventProducer, room: str, n: int) -> None:
    for i in range(n):
        producer.submit(
            ReactionSubmitted(
                room_id=room, user_id=f"u{i % 50}", reaction=ReactionKind.HEART, producer="obs-test"
            )
        )
    assert producer.flush(30) == 0


def alerts_on_kafka(settings: Settings, start: int, group: str) -> list[OpsAlert]:
    spec = TOPICS.for_event(OpsAlert)
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"obs-reader-{uuid.uuid4().hex[:6]}",
        }
    )
    try:
        consumer.assign([confluent_kafka.TopicPartition(spec.name, 0, start)])
        found: list[OpsAlert] = []
        for message in consumer.consume(num_messages=1000, timeout=2):
            if message.error() is None:
                event = decode(message.value(), spec.events)
                if isinstance(event, OpsAlert) and event.labels.get("group") == group:
                    found.append(event)
        return found
    finally:
        consumer.close()


def test_every_deployable_is_scraped_and_a_stopped_sink_pages_through_kafka(
    platform: Platform, settings: Settings, producer: EventProducer, clickhouse: Any
) -> None:
    p = platform
    room = f"obs-{p.run}"
    # Traffic: HTTP requests, and events for the sink and for the worker's moderation agent.
    for path in ("/healthz", "/readyz", "/v1/nowhere"):
        with contextlib.suppress(OSError):  # the 404 raises; it is counted all the same
            urllib.request.urlopen(f"{p.api}{path}", timeout=5).close()
    reactions(producer, room, 20)
    wanted = {
        "api": 'http_requests_total{job="api",route="/healthz",status="200"}',
        "gateway": 'socket_connections{job="gateway"}',
        "worker": 'process_cpu_seconds_total{job="worker"}',
        "relay": 'outbox_backlog{job="relay"}',
        "sink": f'kafka_records_consumed_total{{job="sink",group="{p.group}",topic="reactions.submitted"}}',
        "media": 'media_live_streams{job="media"}',
        "exporter": f'kafka_consumer_lag{{job="exporter",group="{p.group}"}}',
    }
    for job, promql in wanted.items():
        eventually(
            lambda promql=promql: query(p.prometheus, promql), 60, f"{job} metrics in Prometheus ({promql})"
        )
    # Each deployable is scraped through its own announcement, and answers the scrape.
    up = {r["metric"]["job"] for r in query(p.prometheus, "up == 1")}
    assert set(wanted) <= up, up

    # The sink stops; the lag of its group grows past the threshold and the alert fires.
    start = confluent_kafka.Consumer(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": "obs-w"}
    )
    _, high = start.get_watermark_offsets(confluent_kafka.TopicPartition("ops.alerts", 0), timeout=10)
    start.close()
    p.stop("sink")
    reactions(producer, room, 1500)

    def firing_in_alertmanager() -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = get_json(f"{p.alertmanager}/api/v2/alerts")
        return [
            a
            for a in alerts
            if a["labels"].get("alertname") == "ConsumerLagHigh" and a["labels"].get("group") == p.group
        ]

    fired = eventually(firing_in_alertmanager, 90, "ConsumerLagHigh firing in Alertmanager")
    assert fired[0]["labels"]["severity"] == "page"
    assert "records behind" in fired[0]["annotations"]["summary"]

    def on_kafka(status: AlertStatus) -> list[OpsAlert]:
        return [
            a
            for a in alerts_on_kafka(settings, high, p.group)
            if a.status is status and a.alertname == "ConsumerLagHigh"
        ]

    (firing, *_) = eventually(
        lambda: on_kafka(AlertStatus.FIRING), 60, "the firing alert on Kafka: " + p.log("api")
    )
    assert firing.owner == "data-platform"

    # The sink comes back, drains the backlog, and the alert resolves, on Kafka too.
    p.start_sink()
    (resolved, *_) = eventually(lambda: on_kafka(AlertStatus.RESOLVED), 120, "the resolved alert on Kafka")
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.ends_at is not None
    assert resolved.ends_at > firing.starts_at

    # And both land in the warehouse, through the sink that paged.
    def in_warehouse() -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = clickhouse.query(
            "SELECT toString(status), owner FROM ops_alerts FINAL WHERE fingerprint = {f:String} ORDER BY occurred_at",
            parameters={"f": firing.fingerprint},
        ).result_rows
        return rows if len(rows) == 2 else []

    assert eventually(in_warehouse, 60, "both alert events in ops_alerts") == [
        ("firing", "data-platform"),
        ("resolved", "data-platform"),
    ]
