"""Every process announces its metrics endpoint for Prometheus's file-based discovery, and the
announcement of a process that is gone is pruned."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from streams.metrics import announce, prune_targets, serve_metrics, targets_dir


def test_a_served_registry_is_announced_and_answers(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Counter("things_total", "Things", registry=registry).inc(3)
    port = serve_metrics("thing", tmp_path, registry=registry, labels={"node": "n1"})
    (entry,) = json.loads(next(targets_dir(tmp_path).glob("thing-*.json")).read_text())
    assert entry["targets"] == [f"127.0.0.1:{port}"]
    assert entry["labels"]["job"] == "thing"
    assert entry["labels"]["node"] == "n1"
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "things_total 3.0" in body


def test_the_announcement_goes_when_the_process_exits(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from streams.metrics import announce; "
        "announce('short', Path(sys.argv[1]), '127.0.0.1:1')"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert not list(targets_dir(tmp_path).glob("short-*.json"))


def test_announcements_of_dead_processes_are_pruned(tmp_path: Path) -> None:
    mine = announce("alive", tmp_path, "127.0.0.1:2")
    dead = targets_dir(tmp_path) / "gone-999999.json"
    dead.write_text(json.dumps([{"targets": ["127.0.0.1:3"], "labels": {"job": "gone", "pid": "999999"}}]))
    garbage = targets_dir(tmp_path) / "garbage-1.json"
    garbage.write_text("{not json")
    assert sorted(prune_targets(tmp_path)) == ["garbage-1", "gone-999999"]
    assert mine.exists()


def test_the_announcement_goes_when_the_process_is_terminated(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from streams.metrics import announce; "
        "announce('killed', Path(sys.argv[1]), '127.0.0.1:1'); print('up', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert b"up\n" in iter(child.stdout.readline, b"")  # after the log line announcing it
    assert list(targets_dir(tmp_path).glob("killed-*.json"))
    child.terminate()
    assert child.wait(10) == -15, "it still dies of the signal, as it would have"
    assert not list(targets_dir(tmp_path).glob("killed-*.json"))
