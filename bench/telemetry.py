"""What metrics and tracing cost (issue #17's budget: at most 3 % CPU added per unit of work).

A benchmark runs the same work with telemetry on (metrics recorded, trace context propagated,
every span exported over OTLP/HTTP to ``ops.otlp``'s receiver) and off (``OBSERVE_TELEMETRY=false``)
in the same run, and reports the ratio of the platform processes' CPU per unit of work.
"""

from __future__ import annotations

import statistics
from typing import Any

TARGET_ADDED_PCT = 3.0
LOAD_GENERATORS = ("load generator", "load-generator")


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
    return (
        f"telemetry cost: {cost['added_pct']:+.1f} % CPU per {cost['unit']} with metrics and tracing on "
        f"(on {cost['on']}, off {cost['off']}; target at most +{cost['target_added_pct']:.0f} %), "
        f"by process {cost['ratio_by_process']}, {cost['spans_exported']:,} spans exported"
    )
