"""The four local services `make up` runs on loopback: Kafka, ClickHouse, Redis, PostgreSQL.

Each one installs what it lacks, starts idempotently (a running service is left alone),
waits until it answers its own protocol, and stops by PID. Ports, folders and URLs come
from ``streams.settings.Settings``; nothing here hard-codes them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ops.processes import (
    ProcessFiles,
    ServiceFailed,
    port_open,
    spawn,
    stop,
    tree_memory_mb,
    wait_until,
)
from streams.settings import REPO_ROOT, Settings


@dataclass
class Status:
    name: str
    url: str
    pid: int | None
    memory_mb: float | None
    version: str


class Service(ABC):
    name: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        local = settings.local
        self.files = ProcessFiles(self.name, local.run_dir, local.log_dir)

    @property
    @abstractmethod
    def url(self) -> str: ...

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    def data_dir(self) -> Path:
        return self.settings.local.data_dir / self.name

    def install(self) -> None:
        """Make the binaries available (idempotent)."""

    @abstractmethod
    def launch(self) -> int: ...

    @abstractmethod
    def ready(self) -> bool: ...

    def after_start(self) -> None:
        """Bootstrap once the service answers (users, databases)."""

    def version(self) -> str:
        return "?"

    def start(self, timeout_s: float = 90.0) -> tuple[bool, float]:
        """Returns (started_now, seconds). Refuses to start over a foreign process on the port."""
        t0 = time.monotonic()
        if self.files.pid() is not None:
            return False, 0.0
        if port_open(self.port):
            raise ServiceFailed(
                f"{self.name}: port {self.port} is already taken by a process that is not ours "
                f"(no live PID in {self.files.pid_file}). Stop it, or set the URL to use it as an external service."
            )
        self.install()
        pid = self.launch()
        wait_until(self.files, pid, self.ready, timeout_s, f"{self.url} answering")
        self.after_start()
        return True, time.monotonic() - t0

    def stop(self) -> bool:
        return stop(self.files)

    def status(self) -> Status:
        pid = self.files.pid()
        memory = tree_memory_mb(pid) if pid else None
        version = "-"
        if pid:
            try:
                version = self.version()
            except Exception as err:
                version = f"not answering ({type(err).__name__})"
        return Status(self.name, self.url, pid, memory, version)


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise ServiceFailed(
            f"missing Debian packages {packages}; run: sudo apt-get install -y {' '.join(packages)}"
        )
    print(f"installing Debian packages: {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lists = Path("/var/lib/apt/lists")
    if not any(lists.glob("*Packages*")):
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


MEDIA_TOOLS = {"ffmpeg": "ffmpeg", "ffprobe": "ffmpeg", "chromium": "chromium"}


def ensure_media_tools() -> list[str]:
    """The media tier's programs from Debian: ffmpeg (transcoding, libsrt) and Chromium (the
    player tests). Returns what had to be installed."""
    missing = sorted({package for program, package in MEDIA_TOOLS.items() if shutil.which(program) is None})
    if missing:
        apt_install(*missing)
    return missing


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID, URL-safe base64 (it may start with ``-``)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def storage_format_argv(classpath: str, cluster_id: str, props: Path) -> list[str]:
    """``kafka-storage format``. The id goes as ``--cluster-id=ID``: one id in 64 starts with
    ``-``, and as a separate argument the tool's parser takes it for an option (seen: a fresh
    clone's `make up` failed that way)."""
    return [
        "java",
        "-cp",
        classpath,
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(props),
    ]


class Kafka(Service):
    name = "kafka"

    @property
    def url(self) -> str:
        return f"kafka://{self.settings.kafka.bootstrap_servers}"

    @property
    def port(self) -> int:
        return self.settings.kafka.port

    @property
    def libs(self) -> Path:
        return self.settings.local.cache_dir / "kafka" / self.settings.kafka.version / "libs"

    def install(self) -> None:
        if shutil.which("java") is None:
            apt_install("openjdk-17-jre-headless")
        marker = self.libs / ".complete"
        if marker.exists():
            return
        if shutil.which("mvn") is None:
            apt_install("maven")
        print(
            f"fetching Apache Kafka {self.settings.kafka.version} from Maven Central ...",
            flush=True,
        )
        subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(REPO_ROOT / "ops" / "kafka" / "pom.xml"),
                "dependency:copy-dependencies",
                f"-Dkafka.version={self.settings.kafka.version}",
                f"-DoutputDirectory={self.libs}",
                "-DincludeScope=runtime",
            ],
            check=True,
        )
        marker.write_text(self.settings.kafka.version)

    def _properties(self) -> Path:
        k = self.settings.kafka
        host = k.bootstrap_servers.split(",")[0].rsplit(":", 1)[0]
        path = self.settings.local.run_dir / "kafka.properties"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{host}:{k.controller_port}",
                    f"listeners=PLAINTEXT://{host}:{k.port},CONTROLLER://{host}:{k.controller_port}",
                    f"advertised.listeners=PLAINTEXT://{host}:{k.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=6",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "log.retention.check.interval.ms=60000",
                    "",
                ]
            )
        )
        return path

    def launch(self) -> int:
        props = self._properties()
        classpath = f"{self.libs}/*"
        if not (self.data_dir / "meta.properties").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                storage_format_argv(classpath, new_cluster_id(), props), check=True, capture_output=True
            )
        argv = [
            "java",
            f"-Xmx{self.settings.kafka.heap}",
            f"-Xms{self.settings.kafka.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={REPO_ROOT / 'ops' / 'kafka' / 'log4j2.yaml'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(props),
        ]
        return spawn(self.files, argv)

    def ready(self) -> bool:
        if not port_open(self.port):
            return False
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": self.settings.kafka.bootstrap_servers}).list_topics(timeout=2)
        return True

    def version(self) -> str:
        # The broker states its own version when it starts (AppInfoParser: "Kafka version: X").
        text = self.files.log_file.read_text(errors="replace")
        found = re.findall(r"Kafka version: (\S+)", text)
        if not found:
            return "unknown"
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.settings.kafka.bootstrap_servers})
        cluster = admin.describe_cluster(request_timeout=5).result()
        return f"Apache Kafka {found[-1]} (KRaft, cluster {cluster.cluster_id})"


class ClickHouse(Service):
    name = "clickhouse"

    @property
    def url(self) -> str:
        return self.settings.clickhouse.url

    @property
    def port(self) -> int:
        return self.settings.clickhouse.http_port

    def launch(self) -> int:
        ch = self.settings.clickhouse
        host = urlsplit(ch.url).hostname or "127.0.0.1"
        argv = [
            sys.executable,
            "-m",
            "warehouse.server",
            "--data",
            str(self.data_dir),
            "--run",
            str(self.settings.local.run_dir / "clickhouse"),
            "--host",
            host,
            "--http-port",
            str(ch.http_port),
            "--tcp-port",
            str(ch.native_port),
        ]
        return spawn(self.files, argv, cwd=REPO_ROOT)

    def ready(self) -> bool:
        return bool(self.version())

    def version(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"{self.url.rstrip('/')}/?query=SELECT%20version()", timeout=2) as resp:
            return str(resp.read().decode().strip())


class Redis(Service):
    name = "redis"

    @property
    def url(self) -> str:
        return self.settings.redis.url

    @property
    def port(self) -> int:
        return self.settings.redis.port

    def install(self) -> None:
        if shutil.which("redis-server") is None:
            apt_install("redis-server")

    def launch(self) -> int:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        host = urlsplit(self.url).hostname or "127.0.0.1"
        argv = [
            "redis-server",
            "--bind",
            host,
            "--port",
            str(self.port),
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--maxmemory",
            "512mb",
            "--maxmemory-policy",
            "noeviction",
        ]
        return spawn(self.files, argv)

    def ready(self) -> bool:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def version(self) -> str:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            return f"Redis {client.info('server')['redis_version']}"
        finally:
            client.close()


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _others_can_traverse(path: Path) -> bool:
    """True when every existing ancestor of ``path`` lets other accounts through (o+x)."""
    for folder in [path, *path.parents]:
        try:
            mode = folder.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


class Postgres(Service):
    name = "postgres"

    @property
    def url(self) -> str:
        return self.settings.postgres.url

    @property
    def port(self) -> int:
        return self.settings.postgres.port

    @property
    def _os_user(self) -> str | None:
        """PostgreSQL refuses to run as root: use the Debian ``postgres`` account then."""
        return "postgres" if os.geteuid() == 0 else None

    @property
    def data_dir(self) -> Path:
        return self._reachable(self.settings.local.data_dir / self.name)

    @property
    def socket_dir(self) -> Path:
        return self._reachable(self.settings.local.run_dir / "postgres-socket")

    def _reachable(self, path: Path) -> Path:
        """The path, or, when the ``postgres`` account cannot traverse its parents (a checkout
        under /root), a per-checkout folder in that account's home instead."""
        if self._os_user is None or _others_can_traverse(path.parent):
            return path
        return self.fallback_root / path.relative_to(self.settings.local.cache_dir)

    @property
    def fallback_root(self) -> Path:
        home = Path(pwd.getpwnam(self._os_user or "postgres").pw_dir)
        digest = hashlib.sha256(str(self.settings.local.cache_dir).encode()).hexdigest()[:12]
        return home / "live-platform" / digest

    def install(self) -> None:
        if not (PG_BIN / "postgres").exists():
            apt_install("postgresql-15")

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self._os_user:
            entry = pwd.getpwnam(self._os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o700)

    def launch(self) -> int:
        self._own(self.data_dir)
        self._own(self.socket_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                user=self._os_user,
                group=self._os_user,
                extra_groups=[] if self._os_user else None,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise ServiceFailed(f"postgres initdb failed:\n{result.stdout}\n{result.stderr}")
        host = urlsplit(self.url).hostname or "127.0.0.1"
        argv = [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            host,
            "-k",
            str(self.socket_dir),
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
            "-c",
            "synchronous_commit=on",
            "-c",
            "log_min_messages=warning",
        ]
        return spawn(self.files, argv, user=self._os_user)

    def _psql(self, sql: str, *params: str, database: str = "postgres") -> str:
        argv = [
            str(PG_BIN / "psql"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
        ]
        for i, value in enumerate(params, start=1):
            argv += ["-v", f"p{i}={value}"]
        result = subprocess.run(
            argv,
            input=sql,
            capture_output=True,
            text=True,
            user=self._os_user,
            group=self._os_user,
            extra_groups=[] if self._os_user else None,
        )
        if result.returncode != 0:
            raise ServiceFailed(f"postgres bootstrap failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def ready(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    def after_start(self) -> None:
        """Create the application role and database (idempotent); the password comes from settings."""
        pg = self.settings.postgres
        password = pg.password.get_secret_value()
        if not password:
            raise ServiceFailed(
                "POSTGRES_PASSWORD is empty; `python -m ops secrets` writes one to .cache/local.env"
            )
        # psql variables are quoted by psql itself (:'p1'), never formatted into the SQL here.
        self._psql(
            "SELECT format('CREATE ROLE %I LOGIN', :'p1') WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_roles WHERE rolname = :'p1') \\gexec\n"
            "SELECT format('ALTER ROLE %I PASSWORD %L', :'p1', :'p2') \\gexec\n"
            "SELECT format('CREATE DATABASE %I OWNER %I', :'p3', :'p1') WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_database WHERE datname = :'p3') \\gexec\n",
            pg.user,
            password,
            pg.database,
        )

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
        return stop(self.files, sig=signal.SIGINT)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.settings.postgres.dsn(), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


def all_services(settings: Settings) -> list[Service]:
    return [Kafka(settings), ClickHouse(settings), Redis(settings), Postgres(settings)]


def is_local(service: Service) -> bool:
    """True when `make up` should run this service here (else it is external)."""
    if not service.settings.local.manage:
        return False
    host = urlsplit(service.url.replace("kafka://", "tcp://")).hostname or ""
    if service.name == "clickhouse" and service.url.startswith("chdb:"):
        return False
    return host in {"127.0.0.1", "localhost", "::1"}
