"""The live part of ``make demo``: the API (a gateway node) and the media service on their
default ports, a creator's stream key, a synthetic broadcast pushed over RTMP as OBS would,
and a headless Chromium viewer that plays it. The broadcast stays on air for a browser until
``make down``."""

from __future__ import annotations

import hashlib
import hmac
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ops.broadcast import broadcast_args, go_live, token_for, watch_in_chromium
from ops.demo_processes import Background, start_background, start_tool
from ops.processes import ProcessFiles, port_open, stop
from streams.contracts.base import Role
from streams.settings import Settings
from warehouse.catalog import get

LIVE_PROCESSES = ("live-broadcast", "live-media", "live-gateway")
CREATOR, ROOM = "creator-live-demo", "room-live-demo"
WATCH_S = 12


def stop_live(settings: Settings) -> list[str]:
    stopped = []
    for name in LIVE_PROCESSES:
        if stop(ProcessFiles(name, settings.local.run_dir, settings.local.log_dir)):
            stopped.append(name)
    return stopped


def _wait(what: str, check: Callable[[], bool], proc: Background, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        proc.check()
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} not ready within {timeout_s:.0f}s")


def live_demo(settings: Settings, warehouse: Any) -> bool:
    media = settings.media
    api_url = media.api_url
    api = urlsplit(api_url)
    stop_live(settings)
    print("\nlive: a synthetic broadcast over RTMP, packaged as LL-HLS, played in Chromium")
    t = time.monotonic()
    gateway = start_background(
        settings,
        "live-gateway",
        [
            "-m",
            "serving.gateway",
            "--host",
            api.hostname or "127.0.0.1",
            "--port",
            str(api.port or 80),
            "--node-id",
            "gw-live",
        ],
    )
    _wait("the gateway", lambda: port_open(api.port or 80, api.hostname or "127.0.0.1"), gateway)
    service = start_background(settings, "live-media", ["-m", "media"])
    origin = f"http://{media.host}:{media.origin_port}"
    _wait("the media service", lambda: httpx.get(f"{origin}/healthz", timeout=1).status_code == 200, service)
    stream = go_live(api_url, settings, CREATOR, ROOM)
    rtmp = f"{stream['obs']['server']}/{stream['stream_key']}"
    publisher = start_tool(settings, "live-broadcast", broadcast_args(rtmp), secrets=[stream["stream_key"]])
    _wait("the stream", lambda: httpx.get(stream["master_url"], timeout=10).status_code == 200, publisher)
    # The viewer joins a stream that is on air: two segments, more media than the hold-back.
    rung = stream["master_url"].removesuffix("master.m3u8") + _first_variant(
        httpx.get(stream["master_url"]).text
    )
    _wait("two segments", lambda: httpx.get(rung, timeout=10).text.count("#EXTINF") >= 2, publisher)
    print(
        f"media      on air {time.monotonic() - t:.1f}s after start: RTMP ingest, ffmpeg ladder, LL-HLS origin at {origin}"
    )
    viewer = token_for(settings, "viewer-live-demo", Role.VIEWER)
    url = f"{api_url}{stream['watch_url']}#token={viewer}"
    stats = watch_in_chromium(url, WATCH_S)
    samples = stats.get("latency_s") or []
    # Once settled: the player starts further back and catches up at 1.1x over the first seconds.
    latency = statistics.median(samples[len(samples) // 2 :]) if samples else float("nan")
    ok = bool(stats.get("playing")) and stats.get("stalls") == 0
    print(
        f"player     Chromium (hls.js, low-latency mode) played {stats.get('current_time') or 0:.0f}s: startup "
        f"{stats.get('startup_ms')} ms, live latency {latency:.2f}s once caught up (program-date-time), stalls {stats.get('stalls')}, "
        f"renditions {stats.get('levels')}, {stats.get('beacons_sent')} QoS beacons sent to Kafka"
    )
    qoe = _qoe(warehouse, stream["stream_id"])
    if qoe:
        print(
            f"clickhouse QoE from the player's beacons (qoe_by_stream): {qoe['play_requests']} play request(s), "
            f"startup p50 {qoe['startup_p50_ms']} ms, rebuffer ratio {qoe['rebuffer_ratio']}, "
            f"average bitrate {qoe['avg_bitrate_kbps']} kb/s, latency p50 {qoe['latency_p50_ms']} ms"
        )
    else:
        print("clickhouse the player's beacons did not reach qoe_by_stream within 20 s")
        ok = False
    print(
        f"\nOn air until `make down`. Watch it (a viewer token for this machine, valid 1 h):\n  {url}\n"
        "Go live from OBS: README.md, 'Going live from OBS' (your own key from POST /v1/streams)."
    )
    print(apps_lines(api_url, settings, stream["watch_url"]))
    print(console_line(api_url, settings))
    return ok


def demo_password(settings: Settings, user_id: str) -> str:
    """A demo account's password: stable on this machine (derived from its token secret), so a
    second `make demo` signs in with what the first printed; useless anywhere else."""
    secret = settings.auth.token_secret.get_secret_value().encode()
    return "demo-" + hmac.new(secret, f"demo-account:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def apps_lines(api_url: str, settings: Settings, watch_url: str) -> str:
    """Accounts for a demo viewer and the demo's creator, and where to use them."""
    accounts = {"viewer-demo": "viewer", CREATOR: "creator"}
    for user_id, role in accounts.items():
        body = {"username": user_id, "password": demo_password(settings, user_id), "role": role}
        made = httpx.post(f"{api_url}/v1/auth/signup", json=body, timeout=10)
        if made.status_code not in (201, 409):  # 409: made by an earlier demo, same password
            return f"apps       could not make the demo accounts: {made.status_code} {made.text[:200]}"
    signins = ", ".join(f"{u} / {demo_password(settings, u)}" for u in accounts)
    return (
        f"Apps (sign in on the home page as {signins}):\n"
        f"  home    {api_url}/\n  watch   {api_url}{watch_url}\n  studio  {api_url}/studio"
    )


def console_line(api_url: str, settings: Settings) -> str:
    """The trust-and-safety console's URL with an analyst token, and what waits there."""
    analyst = token_for(settings, "analyst-demo", Role.ANALYST)
    headers = {"Authorization": f"Bearer {analyst}"}
    try:
        queue = httpx.get(f"{api_url}/v1/console/queue?limit=500", headers=headers, timeout=10).json()[
            "items"
        ]
        alerts = httpx.get(f"{api_url}/v1/console/alerts?limit=500", headers=headers, timeout=10).json()[
            "items"
        ]
        holds = (
            "500+ holds waiting"  # the queue's page: counting by kind would mislead
            if len(queue) == 500
            else f"{sum(i['kind'] == 'chat' for i in queue)} held messages and "
            f"{sum(i['kind'] == 'gift' for i in queue)} held gifts waiting"
        )
        waiting = f"{holds}, {len(alerts)}{'+' if len(alerts) == 500 else ''} alerts in 24 h"
    except (httpx.HTTPError, KeyError, ValueError) as err:
        waiting = f"could not read the queue: {err}"
    return (
        f"Trust & Safety console ({waiting}; an analyst token for this machine, valid 1 h):\n"
        f"  {api_url}/console#token={analyst}"
    )


def _first_variant(master: str) -> str:
    return next(line for line in master.splitlines() if line and not line.startswith("#"))


def _qoe(warehouse: Any, stream_id: str, timeout_s: float = 20) -> dict[str, Any] | None:
    """This stream's row of the ``qoe_by_stream`` named query, once its beacons are in."""
    query = get("qoe_by_stream")
    today = datetime.now(UTC).date().isoformat()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = warehouse.query(query.sql, parameters=query.bind({"from_day": today, "to_day": today}))
        for row in result.result_rows:
            found = dict(zip(result.column_names, row, strict=True))
            if found["stream"] == stream_id and found["play_requests"] and found["latency_p50_ms"]:
                return found
        time.sleep(0.5)
    return None
