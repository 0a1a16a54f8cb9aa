"""Chaos: the platform under load while each of its parts is SIGKILLed and restarted in turn.

    python -m ops.chaos [--faults kafka,worker,...] [--load-s 12] [--runs 1] [--json PATH]

Runs an API process, a gateway node, two Faust workers in one consumer group, the outbox relay
and the warehouse sink against the local services (``make up``). Per fault, a phase of its own
(its own viewers, creators, rooms and stream) drives gifts and top-ups over HTTP with
Idempotency-Keys and the payment webhook, QoS beacons, and chat through the gateway, retrying
as a real client would; mid-phase the fault's process gets SIGKILL and is restarted. After the
load stops and the platform drains, the phase's invariants are measured and printed; every one
must be 0 (``ok`` per fault), or the command exits 1:

- ``conservation``: the sum of all balances per asset (the whole ledger), and ``negative``:
  user wallets overdrawn;
- ``settled_twice``: gifts with more than one posting;
- ``acked_without_outcome``: gifts answered 202 with no recorded outcome (settled, rejected or
  held), captures answered 200 with no posted top-up, beacons answered 202 or chat messages
  acknowledged on the socket that never reached ClickHouse;
- ``pg_vs_ch``: differences between PostgreSQL and ClickHouse in the phase's ledger transfers
  (count, posted amount), settled gifts (count, coins) and creator earnings (the view);
- ``lag``: records the worker group and the sink group have not committed, and outbox rows
  not yet published, once drained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import socketio

from ops.kafka_cluster import KafkaCluster
from ops.load import free_port
from ops.processes import stop as stop_service
from ops.seed import open_rooms_async
from ops.services import Service, all_services
from pipelines.warehouse.sink import sink_topics
from serving.api.webhooks import sign
from serving.auth.tokens import issue
from streams.bus.admin import group_lag, start_group_at_end, wait_for_assignment
from streams.contracts.base import Role
from streams.contracts.gifts import GiftRequested
from streams.ids import derived_id
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from streams.worker import CONSUMED
from warehouse.client import connect
from warehouse.migrate import migrate as warehouse_migrate

FAULTS = ("kafka", "worker", "api", "gateway", "relay", "sink", "redis", "postgres", "clickhouse")
CLUSTER_FAULTS = ("kafka-leader", "worker")
GIFT_REQUESTS = TOPICS.for_event(GiftRequested)
SERVICES = {"kafka", "redis", "postgres", "clickhouse"}
# The load is a stress of faults, not of the fraud rules or the chat rate limits.
PLATFORM_ENV = {
    "FRAUD_GIFTS_PER_MINUTE": "1000000",
    "FRAUD_COINS_PER_HOUR": "1000000000",
    "FRAUD_TOPUPS_PER_USER_HOUR": "1000000",
    "FRAUD_CENTS_PER_USER_HOUR": "1000000000",
    "FRAUD_CENTS_PER_INSTRUMENT_HOUR": "1000000000",
    "FRAUD_TOPUPS_PER_DEVICE_HOUR": "1000000",
    "FRAUD_TOPUPS_PER_IP_HOUR": "1000000",
    "ROOMS_CHAT_LIMIT": "100000",
    "ROOMS_SOCKET_CHAT_PER_S": "50",
    "ROOMS_SOCKET_CHAT_BURST": "50",
    "PYTHONUNBUFFERED": "1",
}


# -- the platform's processes -----------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n==== {time.strftime('%H:%M:%S')} start\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **PLATFORM_ENV},
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Platform:
    """The deployables under test, each restartable by name."""

    def __init__(self, settings: Settings, run: str, work: Path) -> None:
        self.settings = settings
        self.api_port, self.gateway_port = free_port(), free_port()
        self.worker_group = f"chaos-{run}"
        self.sink_group = f"sink.chaos-{run}"
        py = sys.executable
        worker = [py, "-m", "streams.worker", "--app-id", self.worker_group, "--loglevel", "warn"]
        self.procs = {
            "api": Proc("api", [py, "-m", "serving.api", "--port", str(self.api_port)], work / "api.log"),
            "gateway": Proc(
                "gateway",
                [py, "-m", "serving.gateway", "--port", str(self.gateway_port), "--node-id", f"chaos-{run}"],
                work / "gateway.log",
            ),
            "worker": Proc("worker", worker, work / "worker-1.log"),
            "worker-2": Proc("worker-2", worker, work / "worker-2.log"),
            "relay": Proc("relay", [py, "-m", "streams.ledger.relay"], work / "relay.log"),
            "sink": Proc(
                "sink",
                [py, "-m", "pipelines.warehouse", "--group", self.sink_group, "--max-wait", "0.5"],
                work / "sink.log",
            ),
        }
        self.services: dict[str, Service] = {s.name: s for s in all_services(settings)}
        self.cluster: KafkaCluster | None = None
        self._killed_node: Service | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start(self, names: tuple[str, ...] | None = None) -> None:
        """Start the deployables (``names``: only these); consumer groups begin at the end."""
        kafka = self.settings.kafka.bootstrap_servers
        start_group_at_end(kafka, self.worker_group, CONSUMED)
        start_group_at_end(kafka, self.sink_group, sink_topics())
        if names is not None:
            self.procs = {n: p for n, p in self.procs.items() if n in names}
        for proc in self.procs.values():
            proc.start()
        if "api" in self.procs:
            self.wait_http(self.api_url)
        if "gateway" in self.procs:
            self.wait_http(self.gateway_url)
        # The faults hit a running platform: every worker and the sink have joined their groups
        # and hold their partitions before the load (and the first SIGKILL) begins.
        workers = [n for n in self.procs if n.startswith("worker")]
        if workers:
            wait_for_assignment(
                kafka, self.worker_group, sum(s.partitions for s in CONSUMED), 180, members=len(workers)
            )
        if "sink" in self.procs:
            wait_for_assignment(kafka, self.sink_group, sum(s.partitions for s in sink_topics()), 180)

    def lag(self) -> int:
        """Records the worker group and the sink group have not committed yet."""
        kafka = self.settings.kafka.bootstrap_servers
        return group_lag(kafka, self.worker_group, CONSUMED) + group_lag(
            kafka, self.sink_group, sink_topics()
        )

    def wait_http(self, url: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not come up within {timeout_s}s")

    def kill(self, fault: str) -> None:
        if fault == "kafka-leader":  # the broker leading the gift requests' first partition
            if self.cluster is None:
                raise RuntimeError("the kafka-leader fault needs the three-broker cluster (--cluster)")
            self._killed_node = self.cluster.node(self.cluster.leader_of(GIFT_REQUESTS.name))
            stop_service(self._killed_node.files, sig=signal.SIGKILL, timeout_s=5)
        elif fault in SERVICES:
            stop_service(self.services[fault].files, sig=signal.SIGKILL, timeout_s=5)
        else:
            self.procs[fault].kill()

    def restart(self, fault: str) -> None:
        if fault == "kafka-leader" and self._killed_node is not None:
            self._killed_node.start(timeout_s=120)
        elif fault in SERVICES:
            self.services[fault].start(timeout_s=120)
        else:
            self.procs[fault].start()

    def dead(self) -> list[str]:
        return [p.name for p in self.procs.values() if not p.alive]

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


# -- the load ---------------------------------------------------------------------------


@dataclass
class Acked:
    gifts: dict[str, int] = field(default_factory=dict)  # gift id -> coins
    captures: set[str] = field(default_factory=set)  # top-up ids whose capture webhook got 200
    beacons: set[str] = field(default_factory=set)  # event ids
    chat: set[str] = field(default_factory=set)  # message ids
    retries: int = 0


class Load:
    """One phase's users doing what users do, retrying like real clients until a definite answer."""

    def __init__(self, settings: Settings, platform: Platform, prefix: str, viewers: int = 6) -> None:
        self.settings = settings
        self.platform = platform
        self.prefix = prefix
        self.viewers = [f"{prefix}-v{i}" for i in range(viewers)]
        self.creators = [f"{prefix}-c{i}" for i in range(2)]
        self.rooms = {f"{c}-room": c for c in self.creators}
        self.acked = Acked()
        self.stream_id = ""
        self.secret = settings.auth.token_secret.get_secret_value()

    def headers(self, user: str, *roles: Role) -> dict[str, str]:
        token = issue(self.secret, user, list(roles) or [Role.VIEWER])
        return {"Authorization": f"Bearer {token}"}

    async def until_answered(
        self, client: httpx.AsyncClient, method: str, path: str, stop: asyncio.Event | None, **kwargs: Any
    ) -> httpx.Response | None:
        """Repeat the same request (same Idempotency-Key) until it gets an answer that is not a
        transient failure; ``None`` if ``stop`` is set first (the request stays unacknowledged)."""
        while True:
            try:
                response = await client.request(method, path, timeout=15, **kwargs)
                if response.status_code < 500 and response.status_code != 409:
                    return response
            except httpx.TransportError:
                pass
            self.acked.retries += 1
            if stop is not None and stop.is_set():
                return None
            await asyncio.sleep(0.3)

    async def setup(self, client: httpx.AsyncClient) -> None:
        await open_rooms_async(self.settings, self.rooms)
        creator = self.creators[0]
        live = await self.until_answered(
            client,
            "POST",
            "/v1/streams",
            None,
            json={"room_id": f"{creator}-room"},
            headers=self.headers(creator),
        )
        if live is None or live.status_code != 201:
            raise RuntimeError(f"could not go live for the beacons: {live.text if live else 'no answer'}")
        self.stream_id = live.json()["stream_id"]
        await asyncio.gather(*(self.top_up(client, v, 100_000, None) for v in self.viewers))

    async def top_up(
        self, client: httpx.AsyncClient, user: str, cents: int, stop: asyncio.Event | None
    ) -> None:
        created = await self.until_answered(
            client,
            "POST",
            "/v1/wallet/topups",
            stop,
            json={"amount_cents": cents, "payment_instrument_id": f"card-{user}"},
            headers={**self.headers(user), "Idempotency-Key": uuid.uuid4().hex},
        )
        if created is None or created.status_code != 201:
            return
        topup_id = created.json()["topup_id"]
        raw = json.dumps(
            {
                "id": f"evt-{topup_id}",
                "type": "payment.captured",
                "topup_id": topup_id,
                "provider_ref": "chaos",
            }
        ).encode()
        secret = self.settings.payments.webhook_secret.get_secret_value()
        # The provider retries until it gets a 2xx; its signature stays valid for minutes.
        headers = {"Payments-Signature": sign(secret, raw), "Content-Type": "application/json"}
        captured = await self.until_answered(
            client, "POST", "/v1/payments/webhook", stop, content=raw, headers=headers
        )
        if captured is not None and captured.status_code == 200:
            self.acked.captures.add(topup_id)

    async def gifts(self, client: httpx.AsyncClient, viewer: str, stop: asyncio.Event) -> None:
        rng = random.Random(viewer)
        while not stop.is_set():
            creator = rng.choice(self.creators)
            if rng.random() < 0.05:
                await self.top_up(client, viewer, 500, stop)
                continue
            answer = await self.until_answered(
                client,
                "POST",
                "/v1/gifts",
                stop,
                json={"creator_id": creator, "room_id": f"{creator}-room", "gift_sku": "rose", "quantity": 1},
                headers={**self.headers(viewer), "Idempotency-Key": uuid.uuid4().hex},
            )
            if answer is not None and answer.status_code == 202:
                body = answer.json()
                self.acked.gifts[body["gift_id"]] = int(body["total_coins"])
            await asyncio.sleep(0.02)

    async def beacons(self, client: httpx.AsyncClient, viewer: str, stop: asyncio.Event) -> None:
        sid, sn = "", 0
        while not stop.is_set():
            if not sid:
                started = await self.until_answered(
                    client,
                    "POST",
                    "/v1/playback/sessions",
                    stop,
                    json={"stream_id": self.stream_id},
                    headers=self.headers(viewer),
                )
                if started is None or started.status_code != 201:
                    continue
                sid, sn = started.json()["sid"], 0
            batch = [
                {
                    "e": "heartbeat",
                    "sid": sid,
                    "cid": self.stream_id,
                    "sn": sn + i,
                    "ts": int(time.time() * 1000),
                    "play_ms": 1000,
                }
                for i in range(5)
            ]
            answer = await self.until_answered(
                client, "POST", "/v1/qos", stop, json={"beacons": batch}, headers=self.headers(viewer)
            )
            if answer is not None and answer.status_code == 202:
                self.acked.beacons.update(str(derived_id("qos", sid, b["sn"])) for b in batch)
                sn += len(batch)
            elif answer is not None and answer.status_code == 404:
                sid = ""  # the session lived in Redis, which lost it: start another
            await asyncio.sleep(0.2)

    async def chat(self, viewer: str, stop: asyncio.Event) -> None:
        """One socket: (re)join the room whenever it (re)connects, chat, count what is acked."""
        room = f"{self.creators[0]}-room"
        sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.3, reconnection_delay_max=2)
        joined = False

        @sio.event  # type: ignore[untyped-decorator]
        async def disconnect(*_: Any) -> None:
            nonlocal joined
            joined = False

        token = issue(self.secret, viewer, [Role.VIEWER])
        while not stop.is_set() and not sio.connected:
            try:
                await sio.connect(
                    self.platform.gateway_url, auth={"token": token}, transports=["websocket"], wait_timeout=5
                )
            except (socketio.exceptions.ConnectionError, ValueError):
                await asyncio.sleep(0.5)
        n = 0
        while not stop.is_set():
            try:
                if not sio.connected:
                    await asyncio.sleep(0.3)  # the client reconnects by itself
                    continue
                if not joined:
                    joined = bool((await sio.call("join", {"room_id": room}, timeout=10)).get("ok"))
                    continue
                answer = await sio.call("chat", {"room_id": room, "text": f"hello {n}"}, timeout=10)
                if answer.get("ok"):
                    self.acked.chat.add(answer["message_id"])
                n += 1
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                self.acked.retries += 1
            await asyncio.sleep(0.25)
        await sio.disconnect()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.platform.api_url) as client:
            await asyncio.gather(
                *(self.gifts(client, v, stop) for v in self.viewers),
                *(self.beacons(client, v, stop) for v in self.viewers[:2]),
                *(self.chat(v, stop) for v in self.viewers[:3]),
            )


# -- the invariants ---------------------------------------------------------------------


PG_CHECKS = """
SELECT
  (SELECT count(*) FROM (SELECT reference_id FROM ledger_transfers
     WHERE kind = 'gift' AND debit_account LIKE %(wallets)s GROUP BY reference_id HAVING count(*) > 1) x),
  (SELECT count(*) FROM ledger_transfers WHERE debit_account LIKE %(accounts)s OR credit_account LIKE %(accounts)s),
  (SELECT COALESCE(sum(CASE WHEN t.flags = 'posted' THEN t.amount WHEN t.flags = 'post_pending' THEN p.amount ELSE 0 END), 0)
     FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
     WHERE t.debit_account LIKE %(accounts)s OR t.credit_account LIKE %(accounts)s),
  (SELECT COALESCE(sum(credits_posted), 0) FROM ledger_accounts WHERE id LIKE %(earnings)s),
  (SELECT count(DISTINCT reference_id) FROM ledger_transfers
     WHERE kind IN ('gift', 'gift_fee') AND debit_account LIKE %(wallets)s),
  (SELECT COALESCE(sum(amount), 0) FROM ledger_transfers
     WHERE kind IN ('gift', 'gift_fee') AND debit_account LIKE %(wallets)s)
"""
OUTCOMES = """
SELECT gift_id::text, outcome FROM ledger_gift_outcomes WHERE gift_id = ANY(%(ids)s::uuid[])
UNION ALL SELECT gift_id::text, 'held' FROM gift_holds WHERE gift_id = ANY(%(ids)s::uuid[]) AND decision IS NULL
"""
CAPTURED = (
    "SELECT reference_id FROM ledger_transfers WHERE flags = 'post_pending' AND reference_id = ANY(%(ids)s)"
)


def pg_facts(settings: Settings, prefix: str, acked: Acked) -> dict[str, Any]:
    with psycopg.connect(settings.postgres.dsn()) as conn:
        twice, transfers, posted, earned, settled, coins = conn.execute(
            PG_CHECKS,
            {
                "wallets": f"user_coins:{prefix}-%",
                "accounts": f"%:{prefix}-%",
                "earnings": f"creator_earnings:{prefix}-%",
            },
        ).fetchone() or (0, 0, 0, 0, 0, 0)
        outcomes: dict[str, str] = dict(conn.execute(OUTCOMES, {"ids": list(acked.gifts)}).fetchall())
        captured = {r[0] for r in conn.execute(CAPTURED, {"ids": sorted(acked.captures)}).fetchall()}
        backlog = conn.execute("SELECT count(*) FROM ledger_outbox").fetchone()
    return {
        "settled_twice": int(twice),
        "transfers": int(transfers),
        "posted": int(posted),
        "earned": int(earned),
        "gifts_without_outcome": len(set(acked.gifts) - set(outcomes)),
        "captures_without_topup": len(acked.captures - captured),
        "settled": int(settled),  # every settled gift of the phase's viewers, acknowledged or not
        "settled_coins": int(coins),
        "outbox_backlog": int(backlog[0]) if backlog else 0,
    }


def ch_facts(settings: Settings, prefix: str, stream_id: str, room: str) -> dict[str, Any]:
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    try:
        like = f"%:{prefix}-%"
        transfers, posted = client.query(
            "SELECT count(), sumIf(amount, state = 'posted') FROM ledger_postings FINAL "
            "WHERE debit_account LIKE {a:String} OR credit_account LIKE {a:String}",
            parameters={"a": like},
        ).result_rows[0]
        settled, coins = client.query(
            "SELECT count(), sum(total_coins) FROM gift_events FINAL "
            "WHERE event_type = 'gift.settled' AND startsWith(sender_id, {p:String})",
            parameters={"p": f"{prefix}-"},
        ).result_rows[0]
        earned = client.query(
            "SELECT sum(credited) FROM creator_earnings_daily FINAL WHERE startsWith(creator_id, {p:String})",
            parameters={"p": f"{prefix}-"},
        ).result_rows[0][0]
        beacons = {
            str(r[0])
            for r in client.query(
                "SELECT DISTINCT event_id FROM qos_beacons WHERE cid = {s:String}",
                parameters={"s": stream_id or "-"},
            ).result_rows
        }
        chat = {
            str(r[0])
            for r in client.query(
                "SELECT DISTINCT message_id FROM chat_events WHERE room_id = {r:String} AND event_type != 'chat.message.submitted'",
                parameters={"r": room},
            ).result_rows
        }
    finally:
        client.close()
    return {
        "transfers": int(transfers),
        "posted": int(posted or 0),
        "settled": int(settled),
        "settled_coins": int(coins or 0),
        "earned": int(earned or 0),
        "beacons": beacons,
        "chat": chat,
    }


def ledger_audit(settings: Settings) -> tuple[dict[str, int], list[str]]:
    from psycopg_pool import AsyncConnectionPool

    from streams.ledger.store import PostgresLedger

    async def audit() -> tuple[dict[str, int], list[str]]:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=2, open=False)
        await pool.open(wait=True)
        try:
            result = await PostgresLedger(pool).audit()
            return result.sums, result.overdrawn
        finally:
            await pool.close()

    return asyncio.run(audit())


@dataclass
class Verdict:
    fault: str
    gifts: int
    captures: int
    beacons: int
    chat: int
    retries: int
    down_s: float
    drain_s: float
    conservation: int
    negative: int
    settled_twice: int
    acked_without_outcome: int
    pg_vs_ch: int
    lag: int
    dead_processes: list[str]
    details: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not any(
            (
                self.conservation,
                self.negative,
                self.settled_twice,
                self.acked_without_outcome,
                self.pg_vs_ch,
                self.lag,
                self.dead_processes,
            )
        )


def measure(settings: Settings, platform: Platform, load: Load) -> dict[str, Any]:
    pg = pg_facts(settings, load.prefix, load.acked)
    ch = ch_facts(settings, load.prefix, load.stream_id, f"{load.creators[0]}-room")
    lag = platform.lag()
    differences = {
        k: pg[k] - ch[k]
        for k in ("transfers", "posted", "settled", "settled_coins", "earned")
        if pg[k] != ch[k]
    }
    return {
        "pg": pg,
        "differences": differences,
        "beacons_missing": len(load.acked.beacons - ch["beacons"]),
        "chat_missing": len(load.acked.chat - ch["chat"]),
        "lag": lag + pg["outbox_backlog"],
    }


def drained(facts: dict[str, Any]) -> bool:
    pg = facts["pg"]
    return (
        not facts["differences"]
        and facts["lag"] == 0
        and pg["gifts_without_outcome"] == 0
        and facts["beacons_missing"] == 0
        and facts["chat_missing"] == 0
    )


def run_phase(
    settings: Settings, platform: Platform, fault: str, run: str, load_s: float, down_s: float
) -> Verdict:
    load = Load(settings, platform, f"ch{run}-{fault}")
    stop = asyncio.Event()

    async def drive() -> float:
        async with httpx.AsyncClient(base_url=platform.api_url) as client:
            await load.setup(client)
        running = asyncio.create_task(load.run(stop))
        await asyncio.sleep(load_s / 4)
        platform.kill(fault)
        killed = time.monotonic()
        await asyncio.sleep(down_s)
        await asyncio.to_thread(platform.restart, fault)
        outage = time.monotonic() - killed
        await asyncio.sleep(max(1.0, load_s - load_s / 4 - outage))
        stop.set()
        await running
        return outage

    outage = asyncio.run(drive())
    started = time.monotonic()
    facts: dict[str, Any] = {}
    while time.monotonic() - started < 180:
        try:
            facts = measure(settings, platform, load)
        except Exception as err:  # a service still recovering: measure again
            facts = {"error": repr(err)}
        if "error" not in facts and drained(facts):
            break
        time.sleep(1)
    drain_s = time.monotonic() - started
    if "error" in facts:
        raise RuntimeError(f"{fault}: could not measure after the drain: {facts['error']}")
    sums, overdrawn = ledger_audit(settings)
    pg = facts["pg"]
    return Verdict(
        fault=fault,
        gifts=len(load.acked.gifts),
        captures=len(load.acked.captures),
        beacons=len(load.acked.beacons),
        chat=len(load.acked.chat),
        retries=load.acked.retries,
        down_s=round(outage, 1),
        drain_s=round(drain_s, 1),
        conservation=sum(abs(v) for v in sums.values()),
        negative=len(overdrawn),
        settled_twice=pg["settled_twice"],
        acked_without_outcome=pg["gifts_without_outcome"]
        + pg["captures_without_topup"]
        + facts["beacons_missing"]
        + facts["chat_missing"],
        pg_vs_ch=sum(abs(v) for v in facts["differences"].values()),
        lag=facts["lag"],
        dead_processes=platform.dead(),
        details={
            "differences": facts["differences"],
            "gifts_without_outcome": pg["gifts_without_outcome"],
            "captures_without_topup": pg["captures_without_topup"],
            "beacons_missing": facts["beacons_missing"],
            "chat_missing": facts["chat_missing"],
            "settled": pg["settled"],
        },
    )


COLUMNS = (
    ("fault", 10),
    ("gifts", 6),
    ("captures", 8),
    ("beacons", 7),
    ("chat", 5),
    ("down_s", 6),
    ("drain_s", 7),
    ("conservation", 12),
    ("negative", 8),
    ("settled_twice", 13),
    ("acked_without_outcome", 21),
    ("pg_vs_ch", 8),
    ("lag", 4),
)


def print_row(values: dict[str, Any], ok: str) -> None:
    print("  ".join(str(values[k]).rjust(w) for k, w in COLUMNS) + f"  {ok}", flush=True)


def chaos(
    settings: Settings,
    faults: list[str],
    load_s: float,
    down_s: float,
    on_verdict: Callable[[Verdict], None] = lambda v: None,
    cluster: KafkaCluster | None = None,
) -> list[Verdict]:
    run = uuid.uuid4().hex[:6]
    work = REPO_ROOT / ".cache" / "chaos" / run
    work.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings, run, work)
    platform.cluster = cluster
    print(f"chaos run {run}: logs in {work}", flush=True)
    platform.start()
    verdicts = []
    print("  ".join(k.rjust(w) for k, w in COLUMNS) + "  ok", flush=True)
    try:
        for fault in faults:
            verdict = run_phase(settings, platform, fault, run, load_s, down_s)
            verdicts.append(verdict)
            print_row(
                asdict(verdict),
                "ok" if verdict.ok else f"FAIL {verdict.details} dead={verdict.dead_processes}",
            )
            on_verdict(verdict)
    finally:
        platform.stop()
    return verdicts


def replicated(settings: Settings) -> KafkaCluster:
    """Start the three-broker cluster, point this process and the platform's at it (the
    environment), and create the topics replicated three times with min.insync.replicas 2."""
    from streams.bus.admin import ensure_topics

    cluster = KafkaCluster(settings)
    cluster.start()
    # A warehouse database of its own: the sink keeps, per topic and partition, the highest
    # offset already written, and this cluster's offsets start again from 0.
    ch = settings.clickhouse
    database = "kafka_cluster"
    client = connect(ch.url, database=database, user=ch.user, password=ch.password.get_secret_value())
    try:
        warehouse_migrate(client)
    finally:
        client.close()
    os.environ.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "KAFKA_REPLICATION_FACTOR": "3",
            "KAFKA_MIN_INSYNC_REPLICAS": "2",
            "CLICKHOUSE_DATABASE": database,
        }
    )
    ensure_topics(cluster.bootstrap_servers, replication_factor=3, min_insync_replicas=2)
    cluster.wait_for_leaders([spec.name for spec in TOPICS.with_dead_letters()])
    print(f"three-broker KRaft cluster at {cluster.bootstrap_servers}", flush=True)
    return cluster


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--faults",
        default="",
        help=f"comma-separated, from {', '.join(FAULTS + CLUSTER_FAULTS)} (default: all of the mode's)",
    )
    parser.add_argument("--load-s", type=float, default=12.0, help="seconds of load per fault")
    parser.add_argument("--down-s", type=float, default=3.0, help="seconds the killed part stays down")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole sequence")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help=f"on a three-broker KRaft cluster (replication 3, min.insync.replicas 2); faults {', '.join(CLUSTER_FAULTS)}",
    )
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "chaos.json")
    args = parser.parse_args(argv)
    faults = [
        f.strip()
        for f in (args.faults or ",".join(CLUSTER_FAULTS if args.cluster else FAULTS)).split(",")
        if f.strip()
    ]
    unknown = sorted(set(faults) - set(FAULTS) - set(CLUSTER_FAULTS))
    if args.cluster and "kafka" in faults:
        parser.error(
            "with --cluster, kill a broker of the cluster with kafka-leader (kafka is the one-node broker)"
        )
    if not args.cluster and "kafka-leader" in faults:
        parser.error("kafka-leader needs the three-broker cluster: add --cluster")
    if unknown:
        parser.error(f"unknown faults {unknown}; choose from {', '.join(FAULTS)}")
    settings = Settings()
    cluster = None
    if args.cluster:
        cluster = replicated(settings)
        settings = Settings()  # now pointing at the cluster
    results = []
    for i in range(args.runs):
        print(f"-- run {i + 1} of {args.runs}", flush=True)
        verdicts = chaos(settings, faults, args.load_s, args.down_s, cluster=cluster)
        results.append([asdict(v) | {"ok": v.ok} for v in verdicts])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": results}, indent=2, default=str))
    failed = [v["fault"] for run in results for v in run if not v["ok"]]
    print(
        f"wrote {args.json}; {'every invariant at 0 for every fault' if not failed else f'FAILED: {failed}'}"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
