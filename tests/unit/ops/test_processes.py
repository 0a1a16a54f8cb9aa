from __future__ import annotations

import time
from pathlib import Path

from ops.processes import ProcessFiles, spawn


def test_a_secret_in_a_command_line_is_masked_in_its_log(tmp_path: Path) -> None:
    files = ProcessFiles("publisher", tmp_path / "run", tmp_path / "logs")
    spawn(files, ["echo", "rtmp://127.0.0.1:1935/live/sk_live_abc123"], secrets=["sk_live_abc123"])
    deadline = time.monotonic() + 5
    while "rtmp://" not in files.log_file.read_text().split("starting:")[-1].split("\n", 1)[-1]:
        assert time.monotonic() < deadline, "the process wrote nothing"
        time.sleep(0.05)
    header = files.log_file.read_text().split("\n")[1]
    assert header.endswith("starting: echo rtmp://127.0.0.1:1935/live/***")
