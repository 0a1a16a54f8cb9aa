"""Create every registered topic (and its dead-letter topic) through the admin API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import confluent_kafka
import structlog
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]

from streams.exceptions import PlatformError
from streams.topics import TOPICS, TopicRegistry, TopicSpec

log = structlog.get_logger(__name__)


class TopicSetupFailed(PlatformError):
    pass


@dataclass
class TopicReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)


def ensure_topics(
    bootstrap_servers: str,
    registry: TopicRegistry = TOPICS,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    timeout_s: float = 30.0,
) -> TopicReport:
    """Idempotent: creates what is missing, grows partitions that are fewer than registered."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    metadata = admin.list_topics(timeout=timeout_s)
    report = TopicReport()
    to_create: list[NewTopic] = []
    to_grow: list[NewPartitions] = []
    for spec in registry.with_dead_letters():
        present = metadata.topics.get(spec.name)
        if present is None:
            to_create.append(
                NewTopic(
                    spec.name,
                    spec.partitions,
                    replication_factor,
                    config={**spec.kafka_config(), "min.insync.replicas": str(min_insync_replicas)},
                )
            )
        elif len(present.partitions) < spec.partitions:
            to_grow.append(NewPartitions(spec.name, spec.partitions))
        else:
            report.existing.append(spec.name)
    if to_create:
        for name, future in admin.create_topics(to_create, request_timeout=timeout_s).items():
            try:
                future.result()
                report.created.append(name)
            except Exception as err:
                if "TOPIC_ALREADY_EXISTS" in str(err):
                    report.existing.append(name)
                else:
                    raise TopicSetupFailed(f"creating {name}: {err}") from err
    if to_grow:
        for name, future in admin.create_partitions(to_grow, request_timeout=timeout_s).items():
            future.result()
            report.grown.append(name)
    log.info(
        "topics_ensured",
        created=len(report.created),
        existing=len(report.existing),
        grown=len(report.grown),
    )
    return report


def delete_topics(bootstrap_servers: str, registry: TopicRegistry, timeout_s: float = 30.0) -> list[str]:
    """Delete a namespaced copy of the topics (and their dead-letter topics) once its benchmark or
    replay is done; the names deleted. Refuses the platform's own registry."""
    platform = {spec.name for spec in TOPICS.with_dead_letters()}
    if any(spec.name in platform for spec in registry.with_dead_letters()):
        raise TopicSetupFailed("refusing to delete the platform's own topics")
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    present = admin.list_topics(timeout=timeout_s).topics
    names = [spec.name for spec in registry.with_dead_letters() if spec.name in present]
    if not names:
        return []
    for name, future in admin.delete_topics(names, request_timeout=timeout_s).items():
        try:
            future.result()
        except Exception as err:
            if "UNKNOWN_TOPIC" not in str(err):
                raise TopicSetupFailed(f"deleting {name}: {err}") from err
    log.info("topics_deleted", deleted=len(names))
    return names


def start_group_at_end(
    bootstrap_servers: str, group: str, topics: list[TopicSpec], timeout_s: float = 10.0
) -> None:
    """Commit the current end of every partition for ``group``, so it consumes only what comes next
    (a new sink, backfills, benchmarks). The group must have no active members."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group})
    try:
        offsets = []
        for spec in topics:
            for partition in range(spec.partitions):
                tp = confluent_kafka.TopicPartition(spec.name, partition)
                _, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
                offsets.append(confluent_kafka.TopicPartition(spec.name, partition, high))
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def group_lag(bootstrap_servers: str, group: str, topics: list[TopicSpec], timeout_s: float = 10.0) -> int:
    """Records on ``topics`` that ``group`` has not committed yet (a partition it never committed
    counts from its low watermark)."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group})
    try:
        partitions = [
            confluent_kafka.TopicPartition(spec.name, p) for spec in topics for p in range(spec.partitions)
        ]
        committed = consumer.committed(partitions, timeout=timeout_s)
        lag = 0
        for tp in committed:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False)
            lag += max(0, high - (tp.offset if tp.offset >= 0 else low))
        return lag
    finally:
        consumer.close()


def wait_for_assignment(
    bootstrap_servers: str, group: str, partitions: int, timeout_s: float = 60.0, members: int = 1
) -> float:
    """Block until ``group`` is stable with at least ``members`` members and ``partitions``
    partitions assigned to them (the processes just started have joined and can consume); the
    seconds it took."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        description = admin.describe_consumer_groups([group])[group].result(timeout=10)
        assigned = sum(len(m.assignment.topic_partitions) for m in description.members if m.assignment)
        if (
            description.state == confluent_kafka.ConsumerGroupState.STABLE
            and len(description.members) >= members
            and assigned >= partitions
        ):
            return time.monotonic() - started
        time.sleep(0.2)
    raise TopicSetupFailed(
        f"group {group} has not been assigned {partitions} partitions across {members} member(s)"
        f" in {timeout_s:.0f}s"
    )


def wait_for_brokers(bootstrap_servers: str, timeout_s: float = 120.0) -> float:
    """Block until the cluster answers a metadata request, backing off and logging while it does
    not (a process started before its broker, or during a broker restart, waits instead of
    failing its clients' bootstrap); the seconds it took."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    started = time.monotonic()
    delay = 0.25
    while True:
        try:
            admin.list_topics(timeout=5)
            return time.monotonic() - started
        except confluent_kafka.KafkaException as err:
            waited = time.monotonic() - started
            if waited > timeout_s:
                raise TopicSetupFailed(
                    f"kafka at {bootstrap_servers} unreachable for {waited:.0f}s: {err}"
                ) from err
            log.warning(
                "kafka_unreachable_waiting", bootstrap_servers=bootstrap_servers, waited_s=round(waited, 1)
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
