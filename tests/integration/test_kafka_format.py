"""Formatting Kafka's storage takes any cluster id, including one that starts with ``-``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ops.services import new_cluster_id, storage_format_argv
from streams.settings import Settings


def test_cluster_ids_are_22_url_safe_characters() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and "=" not in i for i in ids)


def test_an_id_starting_with_a_dash_is_one_argument(tmp_path: Path) -> None:
    argv = storage_format_argv("libs/*", "-5Q5SYeVSgmP8d-bi836Bg", tmp_path / "kafka.properties")
    assert "--cluster-id=-5Q5SYeVSgmP8d-bi836Bg" in argv
    assert "-t" not in argv


def test_the_real_storage_tool_accepts_it(tmp_path: Path) -> None:
    libs = Settings().local.cache_dir / "kafka" / Settings().kafka.version / "libs"
    if not libs.exists():
        pytest.fail(f"Kafka is not installed at {libs}; `make up` installs it")
    props = tmp_path / "kafka.properties"
    props.write_text(
        "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:1\n"
        "listeners=PLAINTEXT://127.0.0.1:2,CONTROLLER://127.0.0.1:1\ncontroller.listener.names=CONTROLLER\n"
        f"log.dirs={tmp_path / 'data'}\n"
    )
    done = subprocess.run(
        storage_format_argv(f"{libs}/*", "-5Q5SYeVSgmP8d-bi836Bg", props),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cluster.id=-5Q5SYeVSgmP8d-bi836Bg" in (tmp_path / "data" / "meta.properties").read_text()
