"""Telemetry's cost sampled in process: which samples count as telemetry's, and the arithmetic."""

from __future__ import annotations

from pathlib import Path

from bench.telemetry import sampled_cost, telemetry_share

API = 'process 1:"python -m serving.api";<module> (/srv/platform/serving/api/__main__.py:9);run (/usr/lib/python3.12/asyncio/base_events.py:600)'
ASGI = "__call__ (/srv/.venv/lib/python3.12/site-packages/fastapi/telemetry/_asgi.py:151)"
LIB = "/srv/.venv/lib/python3.12/site-packages"
STACKS = f"""\
{API};{ASGI};send_gift (/srv/platform/serving/api/routes.py:140);execute ({LIB}/psycopg/cursor_async.py:9) 60
{API};{ASGI};send_gift (/srv/platform/serving/api/routes.py:140);observe ({LIB}/prometheus_client/metrics.py:20) 3
{API};{ASGI};inject ({LIB}/opentelemetry/propagate/__init__.py:9);get (/usr/lib/python3.12/contextvars.py:1) 2
{API};{ASGI};_record (/srv/platform/serving/metrics.py:50) 10
process 1:"python -m serving.api";{ASGI};send_gift (/srv/platform/serving/api/routes.py:140);execute ({LIB}/psycopg/cursor_async.py:9) 40
run (/usr/lib/python3.12/threading.py:1);export ({LIB}/opentelemetry/sdk/trace/export/__init__.py:300);post ({LIB}/requests/api.py:1) 5
"""


def test_a_sample_is_telemetrys_by_its_innermost_or_thread_root_frame_not_a_wrapper_awaiting_the_app(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "api.txt"
    profile.write_text(STACKS)
    # The 40 samples whose stack seems to begin in FastAPI's telemetry wrapper (py-spy lost the
    # frames above it) are the app's database work.
    assert telemetry_share(profile) == {"samples": 120, "in_telemetry": 20, "share_pct": 16.67}


def test_a_missing_profile_is_no_samples_not_a_crash(tmp_path: Path) -> None:
    assert telemetry_share(tmp_path / "none.txt")["samples"] == 0


def test_the_cost_is_each_process_cpu_times_its_share_over_the_platform_without_it(tmp_path: Path) -> None:
    (tmp_path / "api.txt").write_text(STACKS.replace("40\n", "0\n"))  # 25 % of the API's samples
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
