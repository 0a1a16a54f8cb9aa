from __future__ import annotations

import os
import subprocess
import sys

from streams.settings import REPO_ROOT


def test_the_definitions_import_without_reading_the_settings() -> None:
    """Settings are read when Dagster loads the code location, not at import: a module that
    reads them at import breaks every tool that only wants the asset graph (and every test
    that sets its environment after importing)."""

    def python(code: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CLICKHOUSE_URL": "not-a-url", "PYTHONPATH": str(REPO_ROOT)}
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    imported = python("import orchestration.definitions as d; print(len(d.ASSETS))")
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.strip() == "5"
    loaded = python("import orchestration.definitions as d; d.defs()")
    assert "CLICKHOUSE_URL must start with" in loaded.stderr  # read, and checked, on load


def test_every_asset_step_and_the_sensor_reach_the_platform_through_resources() -> None:
    from orchestration.definitions import ASSETS, apply_settlement_file, settlement_files

    needed = set()
    for asset in ASSETS:
        needed |= set(asset.required_resource_keys)
    needed |= set(apply_settlement_file.required_resource_keys)
    needed |= set(settlement_files.required_resource_keys)
    assert needed - {"io_manager"} == {"ledger", "warehouse", "events", "folders"}
