"""Finance orchestration: Dagster assets, checks, schedule and sensor for creator payouts."""

from __future__ import annotations

import os
from pathlib import Path

from streams.settings import REPO_ROOT

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def dagster_home() -> None:
    """DAGSTER_HOME (default .cache/dagster) with a dagster.yaml: SQLite storage (the default),
    telemetry off. Used by `make dagster`, the command line and the demo."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".cache" / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
