"""A three-broker Apache Kafka cluster in KRaft mode on loopback (each node broker and
controller), for runs that need replication: topics with replication factor 3 and
``min.insync.replicas=2``, producers with ``acks=all``. Ports, folders and PID files are its
own, beside the one-node broker ``make up`` runs.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient

from ops.processes import port_open, wait_until
from ops.services import Kafka, new_cluster_id, storage_format_argv
from streams.settings import Settings

BASE_PORT = 19092
NODES = 3


class ClusterNode(Kafka):
    """One node of the cluster: broker and controller, node id 1..3."""

    def __init__(self, settings: Settings, node_id: int, cluster_id: str) -> None:
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.name = f"kafka-{node_id}"
        super().__init__(settings)

    @property
    def port(self) -> int:
        return BASE_PORT + 2 * (self.node_id - 1)

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.settings.local.data_dir / "kafka-cluster" / str(self.node_id)

    def _properties(self) -> Path:
        voters = ",".join(f"{n}@127.0.0.1:{BASE_PORT + 2 * (n - 1) + 1}" for n in range(1, NODES + 1))
        path = self.settings.local.run_dir / f"kafka-cluster-{self.node_id}.properties"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={self.node_id}",
                    f"controller.quorum.voters={voters}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    "num.partitions=3",
                    "default.replication.factor=3",
                    "min.insync.replicas=2",
                    "offsets.topic.replication.factor=3",
                    "offsets.topic.num.partitions=6",
                    "transaction.state.log.replication.factor=3",
                    "transaction.state.log.min.isr=2",
                    "unclean.leader.election.enable=false",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        return path

    def launch(self) -> int:
        props = self._properties()
        if not (self.data_dir / "meta.properties").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                storage_format_argv(f"{self.libs}/*", self.cluster_id, props), check=True, capture_output=True
            )
        return super().launch()

    def ready(self) -> bool:
        if not port_open(self.port):
            return False
        AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}"}).list_topics(timeout=2)
        return True


class KafkaCluster:
    def __init__(self, settings: Settings) -> None:
        marker = settings.local.data_dir / "kafka-cluster" / "cluster-id"
        if marker.exists():
            cluster_id = marker.read_text().strip()
        else:
            marker.parent.mkdir(parents=True, exist_ok=True)
            cluster_id = new_cluster_id()
            marker.write_text(cluster_id)
        self.nodes = [ClusterNode(settings, n, cluster_id) for n in range(1, NODES + 1)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self, timeout_s: float = 120) -> None:
        # The controllers need a quorum before any of them answers: launch all, then wait.
        launched = []
        for node in self.nodes:
            if node.files.pid() is None:
                node.install()
                launched.append((node, node.launch()))
        for node, pid in launched:
            wait_until(node.files, pid, node.ready, timeout_s, f"{node.url} answering")

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    def leader_of(self, topic: str, partition: int = 0) -> int:
        metadata = AdminClient({"bootstrap.servers": self.bootstrap_servers}).list_topics(topic, timeout=10)
        return int(metadata.topics[topic].partitions[partition].leader)

    def wait_for_leaders(self, topics: list[str], timeout_s: float = 60) -> None:
        """Until every partition of ``topics`` has a leader and its full set of in-sync replicas."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            metadata = admin.list_topics(timeout=10)
            ready = all(
                name in metadata.topics
                and metadata.topics[name].partitions
                and all(
                    p.leader >= 0 and len(p.isrs) == NODES for p in metadata.topics[name].partitions.values()
                )
                for name in topics
            )
            if ready:
                return
            time.sleep(0.5)
        raise RuntimeError(f"partitions of {len(topics)} topics still without a leader after {timeout_s}s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
