"""Processes the demo runs in the background, by name: a PID file and a log under .cache, so
`make down` (or the next run) stops them."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ops.processes import ProcessFiles, log_tail, spawn, stop
from streams.pids import alive
from streams.settings import REPO_ROOT, Settings


@dataclass
class Background:
    files: ProcessFiles
    pid: int

    def check(self) -> None:
        if not alive(self.pid):
            raise SystemExit(f"{self.files.name} died:\n{log_tail(self.files)}")


def start_tool(settings: Settings, name: str, argv: list[str], secrets: Sequence[str] = ()) -> Background:
    """Any program (``argv[0]`` on PATH), replacing a previous run of the same name; ``secrets``
    in its arguments are masked in its log."""
    files = ProcessFiles(name, settings.local.run_dir, settings.local.log_dir)
    stop(files)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return Background(files, spawn(files, argv, cwd=REPO_ROOT, env=env, secrets=secrets))


def start_background(settings: Settings, name: str, argv: list[str]) -> Background:
    """``python <argv>`` from the repository."""
    return start_tool(settings, name, [sys.executable, *argv])
