"""The local platform itself: the broker is Apache Kafka 4.x, ClickHouse is 26.x, and the
topics exist as the registry says."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from ops.services import ClickHouse, Kafka, Postgres
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from tests.integration.conftest import free_port


def test_the_broker_reports_apache_kafka_4(settings: Settings) -> None:
    version = Kafka(settings).version()
    assert version.startswith("Apache Kafka 4."), version


def test_clickhouse_reports_26(settings: Settings) -> None:
    assert ClickHouse(settings).version().startswith("26.")


def test_every_registered_topic_exists_with_its_partitions_and_policy(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    topics = admin.list_topics(timeout=10).topics
    for spec in TOPICS.with_dead_letters():
        assert spec.name in topics, spec.name
        assert len(topics[spec.name].partitions) == spec.partitions, spec.name
    compacted = [s for s in TOPICS if s.compacted]
    assert compacted
    resources = [ConfigResource(ResourceType.TOPIC, s.name) for s in compacted]
    for resource, future in admin.describe_configs(resources).items():
        assert future.result()["cleanup.policy"].value == "compact", resource


def run_ops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=180,
    )


def test_up_twice_is_safe_and_status_shows_every_service(settings: Settings) -> None:
    first = run_ops("up")
    assert first.returncode == 0, first.stderr
    assert "already running" in first.stdout
    assert "0 migration(s) applied" in first.stdout
    status = run_ops("status")
    assert status.returncode == 0
    for name in ("kafka", "clickhouse", "redis", "postgres"):
        line = next(ln for ln in status.stdout.splitlines() if ln.startswith(name))
        assert "running" in line
        assert "MiB" in line
    assert "Apache Kafka 4." in status.stdout


def test_a_service_that_cannot_start_fails_up_with_its_own_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A data folder from another PostgreSQL major version: the server refuses it, in its words.
    port = free_port()
    env = {
        "PLATFORM_CACHE_DIR": str(tmp_path / "cache"),
        "POSTGRES_URL": f"postgresql://platform@127.0.0.1:{port}/platform",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service = Postgres(Settings())
    data = service.data_dir
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("9.6\n")
    (data / "postgresql.conf").write_text("")
    result = run_ops("up", "--only", "postgres", "--timeout", "30", env=env)
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(service.fallback_root, ignore_errors=True)
    assert result.returncode == 1
    assert "database files are incompatible with server" in result.stderr


def test_a_port_held_by_someone_else_is_reported_not_hijacked(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run_ops(
            "up",
            "--only",
            "redis",
            env={"PLATFORM_CACHE_DIR": str(tmp_path / "cache"), "REDIS_URL": f"redis://127.0.0.1:{port}/0"},
        )
    assert result.returncode == 1
    assert f"port {port} is already taken" in result.stderr
