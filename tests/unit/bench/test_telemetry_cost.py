"""Telemetry's cost sampled in process: which samples count as telemetry's, and the arithmetic."""

from __future__ import annotations

from pathlib import Path

from bench.telemetry import sampled_cost, telemetry_share

STACKS = """\
process 1:"python -m serving.api";run (/usr/lib/python3.12/asyncio/base_events.py:600);send_gift (/srv/platform/serving/api/routes.py:140) 60
process 1:"python -m serving.api";run (/usr/lib/python3.12/asyncio/base_events.py:600);observe (/srv/.venv/lib/python3.12/site-packages/prometheus_client/metrics.py:20) 3
process 1:"python -m serving.api";run (/usr/lib/python3.12/asyncio/base_events.py:600);inject (/srv/.venv/lib/python3.12/site-packages/opentelemetry/propagate/__init__.py:9) 2
process 1:"python -m serving.api";export (/srv/.venv/lib/python3.12/site-packages/opentelemetry/sdk/trace/export/__init__.py:300);post (/srv/.venv/lib/python3.12/site-packages/requests/api.py:1) 5
process 1:"python -m serving.api";record (/srv/platform/serving/metrics.py:50) 10
"""


def test_a_sample_is_telemetrys_when_any_frame_of_its_stack_is_in_telemetry_code(tmp_path: Path) -> None:
    profile = tmp_path / "api.txt"
    profile.write_text(STACKS)
    assert telemetry_share(profile) == {"samples": 80, "in_telemetry": 20, "share_pct": 25.0}


def test_a_missing_profile_is_no_samples_not_a_crash(tmp_path: Path) -> None:
    assert telemetry_share(tmp_path / "none.txt")["samples"] == 0


def test_the_cost_is_each_process_cpu_times_its_share_over_the_platform_without_it(tmp_path: Path) -> None:
    (tmp_path / "api.txt").write_text(STACKS)  # 25 % of the API's samples
    (tmp_path / "worker.txt").write_text(
        "main (/srv/platform/streams/ledger/store.py:1) 9\nmain (/srv/platform/streams/tracing.py:3) 1\n"
    )
    cost = sampled_cost(
        {"api": 400.0, "worker": 1000.0, "kafka": 600.0, "load generator": 5000.0},
        {"api": tmp_path / "api.txt", "worker": tmp_path / "worker.txt"},
    )
    # 100 µs (API) + 100 µs (worker) of 2000 µs: 200 added to the 1800 without telemetry.
    assert cost["telemetry_us_per_unit"] == 200.0
    assert cost["platform_us_per_unit"] == 2000.0
    assert cost["added_pct"] == 11.11
