"""What metrics and tracing cost (issue #17's budget: at most 3 % CPU added per unit of work).

A benchmark runs the same work with telemetry on (metrics recorded, trace context propagated,
every span exported over OTLP/HTTP to ``ops.otlp``'s receiver) and off (``OBSERVE_TELEMETRY=false``)
in the same run, and reports the ratio of the platform processes' CPU per unit of work.

On a shared 2-core machine that ratio moves by as much as the effect (the load generator, the
same code on both sides, moves by 5-8 % between runs). So each benchmark also measures the cost
inside the processes, in one more run with telemetry on: py-spy samples the Python processes
without pausing them, and the share of their busy samples whose stack is in telemetry code
(OpenTelemetry, FastAPI's telemetry, prometheus-client, sentry-sdk and our own glue; see
:func:`in_telemetry_code`), times each one's CPU per unit,
is telemetry's CPU per unit. That figure does not depend on what else the machine runs.
"""

from __future__ import annotations

import re
import signal
import statistics
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

TARGET_ADDED_PCT = 3.0
LOAD_GENERATORS = ("load generator", "load-generator")
PY_SPY = Path(sys.executable).with_name("py-spy")
FRAME = re.compile(r" \(([^;()]+):\d+\)")
STDLIB = re.compile(r"/lib/python3\.\d+/(?!site-packages/)")
SAMPLES_PER_S = 200
# Where a stack frame is telemetry's: the libraries and the platform's own metrics and tracing.
TELEMETRY_CODE = (
    "/opentelemetry/",
    "/prometheus_client/",
    "/sentry_sdk/",
    "/fastapi/telemetry/",
    "streams/tracing.py",
    "streams/telemetry.py",
    "streams/metrics.py",
    "serving/metrics.py",
    "pipelines/warehouse/metrics.py",
)


def telemetry_env(on: bool, otlp_endpoint: str) -> dict[str, str]:
    """The environment of a platform process with telemetry on (spans to ``otlp_endpoint``) or off."""
    if not on:
        return {"OBSERVE_TELEMETRY": "false"}
    return {"OBSERVE_TELEMETRY": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint}


def telemetry_cost(
    on: list[dict[str, float]], off: list[dict[str, float]], unit: str, spans_exported: int
) -> dict[str, Any]:
    """Median CPU per unit of work with telemetry on against off: each run is the CPU of each
    platform process per unit (the load generator left out), over the runs of each side."""

    def total(run: dict[str, float]) -> float:
        return sum(us for name, us in run.items() if name not in LOAD_GENERATORS)

    def ratio(side_on: list[float], side_off: list[float]) -> float:
        return round(statistics.median(side_on) / max(statistics.median(side_off), 1e-9), 3)

    overall = ratio([total(r) for r in on], [total(r) for r in off])
    return {
        "unit": unit,
        "on": [round(total(r)) for r in on],
        "off": [round(total(r)) for r in off],
        "ratio": overall,
        "added_pct": round(100 * (overall - 1), 1),
        "target_added_pct": TARGET_ADDED_PCT,
        "ratio_by_process": {
            name: ratio([r[name] for r in on], [r[name] for r in off]) for name in on[0] if name in off[0]
        },
        "spans_exported": spans_exported,
    }


def describe(cost: dict[str, Any]) -> str:
    on_off = (
        f"telemetry cost: {cost['added_pct']:+.1f} % CPU per {cost['unit']} with metrics and tracing on "
        f"(on {cost['on']}, off {cost['off']}; target at most +{cost['target_added_pct']:.0f} %), "
        f"by process {cost['ratio_by_process']}, {cost['spans_exported']:,} spans exported"
    )
    return on_off + ("\n" + describe_sampled(cost["sampled"]) if "sampled" in cost else "")


def maybe_sampled(pids: dict[str, int], folder: Path | None) -> AbstractContextManager[dict[str, Path]]:
    """:func:`sampled` when a folder is given, else nothing recorded (an empty map)."""
    return sampled(pids, folder) if folder is not None else nullcontext({})


@contextmanager
def sampled(pids: dict[str, int], folder: Path) -> Iterator[dict[str, Path]]:
    """py-spy records each process (and its children) for the block's duration, without pausing
    it (--nonblocking), as collapsed stacks with full file names: one file per name."""
    folder.mkdir(parents=True, exist_ok=True)
    profiles = {name: folder / f"{name}.txt" for name in pids}
    spies = [
        subprocess.Popen(
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(SAMPLES_PER_S),
                "--format",
                "raw",
                "--nonblocking",
                "--subprocesses",
                "--full-filenames",
                "--output",
                str(profiles[name]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    try:
        yield profiles
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in spies:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()


def in_telemetry_code(stack: str) -> bool:
    """A sample is telemetry's when the innermost frame outside the standard library is in
    telemetry code (recording a metric, starting a span), or when its thread was started to run
    telemetry code (the span exporter's: ``threading``'s bootstrap, then telemetry). A wrapper
    that only awaits the app, such as FastAPI's own telemetry middleware, does not make the
    app's work telemetry's, even where py-spy, reading a running process, lost the frames
    above it and the stack seems to begin there."""
    paths = [m.group(1) for m in FRAME.finditer(stack)]
    ours = [path for path in paths if not path.startswith("<") and not STDLIB.search(path)]
    if not ours:
        return False
    roots = [ours[-1]]
    if paths[0].endswith("/threading.py"):
        roots.append(ours[0])
    return any(code in path for path in roots for code in TELEMETRY_CODE)


def telemetry_share(profile: Path) -> dict[str, Any]:
    """Busy samples in a collapsed-stacks file, and the share whose stack is in telemetry code."""
    samples = in_telemetry = 0
    for line in profile.read_text().splitlines() if profile.exists() else []:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples += int(count)
        if in_telemetry_code(stack):
            in_telemetry += int(count)
    return {
        "samples": samples,
        "in_telemetry": in_telemetry,
        "share_pct": round(100 * in_telemetry / max(samples, 1), 2),
    }


def sampled_cost(cpu_us: Mapping[str, float], profiles: Mapping[str, Path]) -> dict[str, Any]:
    """Telemetry's CPU per unit of work, from the sampled processes' shares, as a percentage
    added to the platform's CPU per unit without it (the load generator left out)."""
    shares = {name: telemetry_share(path) for name, path in profiles.items()}
    telemetry_us = sum(cpu_us[name] * share["share_pct"] / 100 for name, share in shares.items())
    platform_us = sum(us for name, us in cpu_us.items() if name not in LOAD_GENERATORS)
    return {
        "method": f"py-spy, {SAMPLES_PER_S} samples/s, one run with telemetry on",
        "telemetry_us_per_unit": round(telemetry_us, 1),
        "platform_us_per_unit": round(platform_us, 1),
        "added_pct": round(100 * telemetry_us / max(platform_us - telemetry_us, 1e-9), 2),
        "target_added_pct": TARGET_ADDED_PCT,
        "by_process": shares,
    }


def describe_sampled(cost: dict[str, Any]) -> str:
    shares = ", ".join(f"{name} {share['share_pct']} %" for name, share in cost["by_process"].items())
    return (
        f"telemetry cost, sampled in process: {cost['added_pct']:+.2f} % CPU per unit "
        f"({cost['telemetry_us_per_unit']} of {cost['platform_us_per_unit']} µs; share of busy samples: "
        f"{shares}; target at most +{cost['target_added_pct']:.0f} %)"
    )
