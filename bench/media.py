"""bench-media: one live stream on the default ladder, measured in one run.

1. LL-HLS: a synthetic RTMP broadcast through our ingest, ffmpeg and packager; Chromium
   (hls.js, low-latency mode) plays it: live latency (program-date-time based, as the player
   reports it, median once settled) over one long watch, startup time as the median of several
   page loads. Meanwhile the CPU of our media process (ingest,
   packager, origin: the packaging overhead) and of its ffmpeg is sampled.
2. Standard HLS: the same stream through its standard playlists (`?ll=0`: whole segments, no
   blocking reload), hls.js with lowLatencyMode off.
3. Reference: ffmpeg alone receiving the same broadcast over RTMP and writing standard fMP4
   HLS for the same ladder; its CPU over the same window.

    make bench-media          (QUICK=1: shorter windows)

Writes bench/results/media.json and prints it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from media.transcode.ladder import Ladder, hls_reference_args
from ops.broadcast import (
    broadcast_args,
    media_stack,
    token_for,
    watch_in_chromium,
)
from ops.load import free_port, wait_http
from ops.processes import cpu_seconds, tree_cpu_seconds
from streams.contracts.base import Role
from streams.settings import REPO_ROOT, Settings

QUICK = os.environ.get("QUICK") == "1"
WATCH_S = 20 if QUICK else 45
STARTUPS = 5 if QUICK else 11  # page loads: startup is a median, not one noisy sample
CPU_WINDOW_S = 15 if QUICK else 40
RESULTS = REPO_ROOT / "bench" / "results" / "media.json"


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
    return {
        "packager_cpu_pct": packager,
        "ffmpeg_cpu_pct": round(everything - packager, 1),
        "llhls": ll,
        "hls": hls,
    }


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
    ll, hls = measured["llhls"], measured["hls"]
    result = {
        "quick": QUICK,
        "ladder": settings.media.ladder,
        "llhls_latency_s": ll["latency_s"],
        "llhls_latency_p95_s": ll["latency_p95_s"],
        "hls_latency_s": hls["latency_s"],
        "startup_ms": ll["startup_ms"],
        "hls_startup_ms": hls["startup_ms"],
        "startup_p90_ms": ll["startup_p90_ms"],
        "stalls": {"llhls": ll["stalls"], "hls": hls["stalls"]},
        "packager_cpu_pct": measured["packager_cpu_pct"],
        "ffmpeg_cpu_pct": measured["ffmpeg_cpu_pct"],
        "reference_ffmpeg_hls_cpu_pct": reference_cpu,
        "packaging_overhead_pct": round(
            measured["packager_cpu_pct"] + measured["ffmpeg_cpu_pct"] - reference_cpu, 1
        ),
        "targets": {"llhls_latency_s": 2.5, "startup_ms": 1000, "packager_cpu_pct": 5.0},
        "met": {
            "llhls_latency": ll["latency_s"] is not None and ll["latency_s"] <= 2.5,
            "startup": ll["startup_ms"] is not None and ll["startup_ms"] <= 1000,
            "packager_cpu": measured["packager_cpu_pct"] <= 5.0,
        },
        "players": {"llhls": ll, "hls": hls},
        "cpu_window_s": CPU_WINDOW_S,
        "watch_s": WATCH_S,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
