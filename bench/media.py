"""bench-media: one live stream on the default ladder, measured in one run.

1. LL-HLS: a synthetic RTMP broadcast through our ingest, ffmpeg and packager; Chromium
   (hls.js, low-latency mode) plays it: live latency (program-date-time based, as the player
   reports it, median once settled) over one long watch, startup time as the median of several
   page loads. Meanwhile the CPU of our media process (ingest,
   packager, origin: the packaging overhead) and of its ffmpeg is sampled.
2. Standard HLS: the same stream through its standard playlists (`?ll=0`: whole segments, no
   blocking reload), hls.js with lowLatencyMode off.
3. LL-HLS again with the platform busy, as in the demo: a Faust worker, a warehouse sink and
   300 socket.io viewers chatting and reacting on the page's own gateway node (issue #14:
   glass-to-glass p50 <= 1.5 s and startup median <= 750 ms under that load).
4. Reference: ffmpeg alone receiving the same broadcast over RTMP and writing standard fMP4
   HLS for the same ladder; its CPU over the same window.

    make bench-media          (QUICK=1: shorter windows)

Writes bench/results/media.json and prints it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from media.transcode.ladder import Ladder, hls_reference_args
from ops.broadcast import (
    broadcast_args,
    media_stack,
    token_for,
    watch_in_chromium,
)
from ops.load import Load, drive, free_port, launch, launch_worker, plan, stop, wait_http
from ops.processes import cpu_seconds, tree_cpu_seconds
from ops.seed import open_rooms
from pipelines.warehouse.sink import sink_topics
from streams.bus.admin import start_group_at_end
from streams.contracts.base import Role
from streams.settings import REPO_ROOT, Settings

QUICK = os.environ.get("QUICK") == "1"
WATCH_S = 20 if QUICK else 45
STARTUPS = 5 if QUICK else 11  # page loads: startup is a median, not one noisy sample
CPU_WINDOW_S = 15 if QUICK else 40
RESULTS = REPO_ROOT / "bench" / "results" / "media.json"
LOAD_CLIENTS = 300


def _cpu_pct(measure: Callable[[], float], seconds: float) -> float:
    before, t = measure(), time.monotonic()
    time.sleep(seconds)
    return round(100 * (measure() - before) / (time.monotonic() - t), 1)


def _watch(url: str) -> dict[str, Any]:
    """One long watch for latency and stalls, then short page loads for startup times."""
    stats = watch_in_chromium(url, WATCH_S)
    startups = [stats.get("startup_ms")]
    for _ in range(STARTUPS - 1):
        startups.append(watch_in_chromium(url, 3).get("startup_ms"))
    played = sorted(s for s in startups if s is not None)
    samples = stats.get("latency_s") or []
    # Latency once playing has settled (the first seconds include the catch-up).
    settled = samples[len(samples) // 4 :] or samples
    return {
        "startup_ms": played[len(played) // 2] if played else None,
        "startup_p90_ms": played[int(0.9 * (len(played) - 1))] if played else None,
        "startup_samples_ms": startups,
        "latency_s": round(statistics.median(settled), 2) if settled else None,
        "latency_p95_s": round(sorted(settled)[int(0.95 * (len(settled) - 1))], 2) if settled else None,
        "stalls": stats.get("stalls"),
        # Each stall with the player's last loading steps (parts, levels, abandoned loads).
        "stall_log": stats.get("stall_log") or [],
        "played_s": round(stats.get("current_time") or 0, 1),
        "errors": stats.get("errors", [])[:5],
        "timeline_ms": stats.get("timeline"),
    }


def ours(settings: Settings, log_dir: Path) -> dict[str, Any]:
    with media_stack(log_dir) as stack, stack.on_air(settings) as (stream, _publisher):
        wait_http(stream["master_url"], timeout_s=30)
        time.sleep(3)  # past the first segments
        media = stack.media_pid
        packager = _cpu_pct(lambda: cpu_seconds(media), CPU_WINDOW_S)
        everything = _cpu_pct(lambda: tree_cpu_seconds(media), CPU_WINDOW_S)
        viewer = token_for(settings, f"bench-viewer-{stream['creator_id']}", Role.VIEWER)
        page = f"{stack.api_url}{stream['watch_url']}"
        print(
            f"  watching LL-HLS in Chromium for {WATCH_S}s, then {STARTUPS - 1} more page loads …",
            flush=True,
        )
        ll = _watch(f"{page}#token={viewer}")
        print("  the same as standard HLS …", flush=True)
        hls = _watch(f"{page}?mode=hls#token={viewer}")
        print(
            f"  LL-HLS again, the platform busy: a worker, a sink and {LOAD_CLIENTS} chatting viewers "
            "on the page's gateway …",
            flush=True,
        )
        with platform_traffic(settings, stack.api_url) as chat:
            loaded = _watch(f"{page}#token={viewer}")
    return {
        "packager_cpu_pct": packager,
        "ffmpeg_cpu_pct": round(everything - packager, 1),
        "llhls": ll,
        "hls": hls,
        "llhls_under_load": {**loaded, "chat": chat},
    }


@contextmanager
def platform_traffic(settings: Settings, gateway_url: str) -> Iterator[dict[str, Any]]:
    """The platform busy around the player, as in the demo: a Faust worker (moderation, fan-out,
    fraud, settlement), a warehouse sink, and bench-fanout's load generator with LOAD_CLIENTS
    socket.io viewers chatting and reacting in ten rooms on the page's own gateway node, for
    as long as the block runs. Yields the chat's delivery figures, filled in at the end."""
    run = uuid.uuid4().hex[:6]
    app_id, group = f"bench-media-{run}", f"sink-bench-media-{run}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics())
    sink = [sys.executable, "-m", "pipelines.warehouse", "--group", group, "--max-wait", "0.2"]
    procs = [launch_worker(settings, "media-load-worker", app_id), launch("media-load-sink", sink)]
    load = Load(clients=LOAD_CLIENTS, duration_s=WATCH_S + 8 * STARTUPS)
    config, rooms = plan(load, run, [gateway_url], settings.auth.token_secret.get_secret_value())
    open_rooms(settings, rooms)
    chat: dict[str, Any] = {}
    driver = threading.Thread(target=lambda: chat.update(drive(config, "chat", [])), daemon=True)
    driver.start()
    try:
        time.sleep(10)  # the viewers connected and talking, the worker in its group
        yield chat
        driver.join(load.duration_s + 120)
    finally:
        stop(procs)


def reference(settings: Settings, log_dir: Path) -> float:
    """ffmpeg alone: listens for the same broadcast over RTMP and writes standard HLS."""
    ladder = Ladder.parse(settings.media.ladder, fps=settings.media.fps, audio_kbps=settings.media.audio_kbps)
    with tempfile.TemporaryDirectory() as out:
        for rung in [*[r.name for r in ladder.renditions], "audio"]:
            Path(out, rung).mkdir()
        port = free_port()
        url = f"rtmp://127.0.0.1:{port}/live/reference"
        args = hls_reference_args(ladder, ["-listen", "1", "-f", "flv", "-i", url], out)
        with (log_dir / "reference.log").open("ab") as log:
            ffmpeg = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
        time.sleep(1)
        publisher = subprocess.Popen(
            broadcast_args(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(6)
            if ffmpeg.poll() is not None:
                raise SystemExit(
                    f"reference ffmpeg exited: {(log_dir / 'reference.log').read_text()[-2000:]}"
                )
            return _cpu_pct(lambda: cpu_seconds(ffmpeg.pid), CPU_WINDOW_S)
        finally:
            publisher.kill()
            ffmpeg.kill()
            publisher.wait()
            ffmpeg.wait()


def main() -> int:
    settings = Settings()
    log_dir = REPO_ROOT / ".cache" / "logs" / "bench-media"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench-media: ladder {settings.media.ladder}, {'QUICK' if QUICK else 'full'} run", flush=True)
    print("  our stack: RTMP ingest → ffmpeg (CMAF to pipes) → LL-HLS packager → origin", flush=True)
    measured = ours(settings, log_dir)
    print("  reference: ffmpeg alone writing standard HLS", flush=True)
    reference_cpu = reference(settings, log_dir)
    ll, hls, loaded = measured["llhls"], measured["hls"], measured["llhls_under_load"]
    result = {
        "quick": QUICK,
        "ladder": settings.media.ladder,
        "llhls_latency_s": ll["latency_s"],
        "llhls_latency_p95_s": ll["latency_p95_s"],
        "hls_latency_s": hls["latency_s"],
        "startup_ms": ll["startup_ms"],
        "hls_startup_ms": hls["startup_ms"],
        "startup_p90_ms": ll["startup_p90_ms"],
        "stalls": {"llhls": ll["stalls"], "hls": hls["stalls"], "llhls_under_load": loaded["stalls"]},
        "under_load_latency_s": loaded["latency_s"],
        "under_load_startup_ms": loaded["startup_ms"],
        "under_load_chat": {k: loaded["chat"].get(k) for k in ("deliveries_per_s", "p50_ms", "p99_ms")},
        "packager_cpu_pct": measured["packager_cpu_pct"],
        "ffmpeg_cpu_pct": measured["ffmpeg_cpu_pct"],
        "reference_ffmpeg_hls_cpu_pct": reference_cpu,
        "packaging_overhead_pct": round(
            measured["packager_cpu_pct"] + measured["ffmpeg_cpu_pct"] - reference_cpu, 1
        ),
        # Issue #14 asks, under load, glass-to-glass p50 <= 1.5 s and startup median <= 750 ms.
        "targets": {
            "llhls_latency_s": 2.5,
            "startup_ms": 1000,
            "packager_cpu_pct": 5.0,
            "under_load_latency_s": 1.5,
            "under_load_startup_ms": 750,
        },
        "met": {
            "llhls_latency": ll["latency_s"] is not None and ll["latency_s"] <= 2.5,
            "startup": ll["startup_ms"] is not None and ll["startup_ms"] <= 1000,
            "packager_cpu": measured["packager_cpu_pct"] <= 5.0,
            "under_load_latency": loaded["latency_s"] is not None and loaded["latency_s"] <= 1.5,
            "under_load_startup": loaded["startup_ms"] is not None and loaded["startup_ms"] <= 750,
        },
        "players": {"llhls": ll, "hls": hls, "llhls_under_load": loaded},
        "cpu_window_s": CPU_WINDOW_S,
        "watch_s": WATCH_S,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
