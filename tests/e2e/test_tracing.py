"""One gift's trace, across real processes: the API's log line for the request, the settlement
event the worker published on Kafka and the warehouse rows the sink wrote all carry the trace
id the API answered with, ``python -m ops trace`` follows it from the request to the
settlement, and the spans the API and the worker export over OTLP/HTTP form one tree from the
caller's span to the settlement.

The OTLP endpoint is ``ops.otlp``'s receiver, which decodes what the OpenTelemetry SDK sends with
the OTLP protocol's own protobuf classes (no collector is packaged for these machines)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from ops.otlp import otlp_receiver
from ops.seed import live_room, open_rooms_async
from pipelines.warehouse.sink import sink_topics
from serving.auth.tokens import issue
from streams.bus.admin import start_group_at_end
from streams.contracts.base import Role
from streams.contracts.codec import decode
from streams.contracts.gifts import GiftSettled
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from streams.tracing import header_value, trace_id_of
from tests.integration.conftest import (
    Worker,
    eventually,
    free_port,
    fund,
    read_topic,
    spawn,
    stop_process,
)


def test_a_gifts_trace_id_is_on_its_log_line_its_settlement_event_and_its_warehouse_rows(
    tmp_path: Path, settings: Settings, clickhouse: Any
) -> None:
    run = uuid.uuid4().hex[:8]
    sender, creator = f"tr{run}s", f"tr{run}c"
    room = live_room(creator)
    fund(settings.postgres.dsn(), sender, 1_000)
    asyncio.run(open_rooms_async(settings, {room: creator}))
    group = f"sink.trace-{run}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics())
    port = free_port()
    api_log = tmp_path / "api.log"
    with otlp_receiver() as (endpoint, spans):
        export = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
        procs = [
            spawn(
                ["-m", "serving.api", "--port", str(port)], api_log, {"PLATFORM_LOG_FORMAT": "json", **export}
            ),
            spawn(
                ["-m", "pipelines.warehouse", "--group", group, "--max-wait", "0.2"], tmp_path / "sink.log"
            ),
        ]
        worker = Worker(f"trace-{run}", tmp_path / "worker.log", settings.kafka.bootstrap_servers, export)
        try:
            _follow_one_gift(settings, clickhouse, port, api_log, sender, creator, room, run, spans)
        finally:
            worker.stop()
            for proc in procs:
                stop_process(proc)


def _follow_one_gift(
    settings: Settings,
    clickhouse: Any,
    port: int,
    api_log: Path,
    sender: str,
    creator: str,
    room: str,
    run: str,
    spans: list[dict[str, Any]],
) -> None:
    base = f"http://127.0.0.1:{port}"
    eventually(lambda: _answers(f"{base}/readyz"), 60, "API ready")
    token = issue(settings.auth.token_secret.get_secret_value(), sender, [Role.VIEWER])
    caller = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"

    def send() -> httpx.Response | None:
        answer = httpx.post(
            f"{base}/v1/gifts",
            json={"creator_id": creator, "room_id": room, "gift_sku": "rose"},
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": f"trace-{run}",
                "traceparent": caller,
            },
            timeout=10,
        )
        return answer if answer.status_code == 202 else None

    answer = eventually(send, 30, "the gift accepted")
    trace_id = answer.headers["x-trace-id"]
    assert trace_id == "ab" * 16, "the caller's trace is continued"
    gift_id = answer.json()["gift_id"]

    # 1. The API's log line for the request.
    def request_lines() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in api_log.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("event") == "request" and line.get("path") == "/v1/gifts"]

    # The canonical line is written as the response ends, so it may reach the file just after it.
    (request_line,) = eventually(request_lines, 10, "the request's log line")
    assert request_line["trace_id"] == trace_id

    # 2. The settlement event on Kafka, published by the worker.
    spec = TOPICS.for_event(GiftSettled)
    record = read_topic(
        settings,
        spec.name,
        lambda m: str(getattr(decode(m.value(), spec.events), "gift_id", "")) == gift_id,
        timeout_s=60,
    )
    assert decode(record.value(), spec.events).event_type == "gift.settled"
    assert trace_id_of(header_value(record.headers())) == trace_id

    # 3. The warehouse rows, and the path `python -m ops trace` shows.
    def rows() -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = clickhouse.query(
            "SELECT event_type, _trace_id FROM gift_events FINAL WHERE gift_id = {g:UUID} ORDER BY occurred_at",
            parameters={"g": gift_id},
        ).result_rows
        return found if len(found) == 2 else []

    assert eventually(rows, 60, "requested and settled rows") == [
        ("gift.requested", trace_id),
        ("gift.settled", trace_id),
    ]
    settled_id = str(decode(record.value(), spec.events).event_id)
    shown = subprocess.run(
        [sys.executable, "-m", "ops", "trace", settled_id],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"trace {trace_id}" in shown.stdout
    requested_at, settled_at = (shown.stdout.index(kind) for kind in ("gift.requested", "gift.settled"))
    assert requested_at < settled_at, shown.stdout

    # 4. The exported spans: one tree, from the caller's span through the API to settlement.
    def tree() -> dict[str, dict[str, Any]]:
        mine = {s["span_id"]: s for s in list(spans) if s["trace_id"] == trace_id}
        names = {s["name"] for s in mine.values()}
        return mine if {"POST /v1/gifts", "fraud", "settlement"} <= names else {}

    by_id = eventually(tree, 30, "the API's and the worker's spans exported")
    (request,) = [s for s in by_id.values() if s["name"] == "POST /v1/gifts"]
    assert request["parent_span_id"] == "cd" * 8, "a child of the caller's span"
    assert request["service"] == "api"
    assert request["attributes"]["http.response.status_code"] == 202
    settlement = next(s for s in by_id.values() if s["name"] == "settlement")
    assert settlement["service"] == "worker"
    chain, span = [], settlement
    while span["parent_span_id"] in by_id:
        span = by_id[span["parent_span_id"]]
        chain.append(span["name"])
    assert chain == ["fraud", "POST /v1/gifts"], "settlement <- fraud <- the request"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
