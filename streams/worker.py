"""Composition root of the Faust worker: settings, clients, agents, then run.

python -m streams.worker [--app-id ID] [--web-port N] [--loglevel info] [--metrics-port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime

import structlog
import uvloop
from faust.worker import Worker
from psycopg_pool import AsyncConnectionPool

from streams.bus.admin import wait_for_brokers
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import guarded
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.chat import ChatMessageAccepted, ChatMessageSubmitted
from streams.contracts.gifts import GiftRequested, GiftScreened, GiftSettled
from streams.contracts.moderation import ModerationAction
from streams.contracts.presence import PresenceJoined
from streams.contracts.probes import PlatformProbe
from streams.contracts.reactions import ReactionSubmitted
from streams.fanout.agents import RedisRoomEmitter, register_gift_fanout
from streams.faust_app import PlatformApp, create_app
from streams.fraud.agents import register_fraud_agent
from streams.fraud.counters import RedisCounters
from streams.fraud.decisions import PostgresScreenings
from streams.fraud.rules import gift_rules
from streams.gifts.agents import register_settlement_agent
from streams.gifts.holds import GiftHolds
from streams.ledger.store import PostgresLedger
from streams.logs import configure_logging
from streams.metrics import serve_metrics
from streams.probes.agents import register_probe_agent
from streams.probes.store import PostgresProbeReceipts, RedisAnnouncer
from streams.redis_pool import connect_redis
from streams.rooms.agents import register_room_agents
from streams.rooms.classifiers import build_model
from streams.rooms.directory import RoomDirectory
from streams.rooms.gate import ChatGate
from streams.rooms.history import ChatHistory
from streams.rooms.holds import ChatHolds
from streams.rooms.moderation import ChatModerator
from streams.rooms.platform_bans import PlatformBans
from streams.rooms.presence import PresenceBoard
from streams.settings import Settings
from streams.telemetry import init_telemetry
from streams.topics import TOPICS
from streams.wallet.expiry import expire_topups

CONSUMED = [
    TOPICS.for_event(model)
    for model in (
        PlatformProbe,
        GiftRequested,
        GiftScreened,
        GiftSettled,
        ChatMessageSubmitted,
        ChatMessageAccepted,
        ModerationAction,
        ReactionSubmitted,
        PresenceJoined,
    )
]
"""Every topic the worker's agents read (a new consumer group may be started at their end)."""
log = structlog.get_logger(__name__)


def build(settings: Settings, app_id: str, web_port: int | None) -> PlatformApp:
    app = create_app(settings, app_id=app_id, web_port=web_port)
    (settings.local.data_dir / "faust" / app_id).mkdir(parents=True, exist_ok=True)
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=8, open=False)
    redis = connect_redis(settings.redis.url)
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id=app_id)
    dead_letters = DeadLetterPublisher(wire, consumer=app_id)

    async def open_resources() -> None:
        await pool.open(wait=True, timeout=30)
        # Platform-wide bans are enforced from Redis: put them back if Redis lost them.
        await PlatformBans(pool, redis).restore()

    async def close_resources() -> None:
        await pool.close()
        await redis.aclose()
        wire.close()

    app.add_lifecycle(open_resources, close_resources)
    register_probe_agent(app, PostgresProbeReceipts(pool), RedisAnnouncer(redis), dead_letters)
    ledger = PostgresLedger(pool, creator_share_bps=settings.money.creator_share_bps)
    producer = EventProducer(wire)
    directory = RoomDirectory(pool, redis)
    register_fraud_agent(
        app,
        RedisCounters(redis),
        gift_rules(settings.fraud),
        producer,
        dead_letters,
        rooms=directory,
        decisions=PostgresScreenings(pool),
    )

    async def sweep_expired_topups() -> None:
        voided = await expire_topups(ledger, producer, datetime.now(UTC))
        if voided:
            log.info("topups_expired", voided=voided)

    app.timer(interval=settings.payments.expiry_sweep_s)(
        guarded("sweep_expired_topups", sweep_expired_topups)
    )
    register_settlement_agent(app, ledger, GiftHolds(pool), producer, dead_letters)
    emitter = RedisRoomEmitter(settings.redis.url)
    register_gift_fanout(app, emitter, dead_letters)
    rooms = settings.rooms
    register_room_agents(
        app,
        moderator=ChatModerator(
            directory, ChatGate(redis), ChatHolds(pool), rooms, app_id, classifier=build_model(rooms)
        ),
        history=ChatHistory(redis, max_messages=rooms.history_messages, window_s=rooms.history_window_s),
        board=PresenceBoard(redis, node_ttl_s=rooms.node_ttl_s),
        emitter=emitter,
        producer=producer,
        dead_letters=dead_letters,
        settings=rooms,
    )
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app-id", default="live-platform")
    parser.add_argument("--web-port", type=int, default=None)
    parser.add_argument("--loglevel", default="info")
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics on loopback (0: any free port)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "worker")
    # uvloop: the same agents for about a third less CPU than the default asyncio loop.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # Faust's producer gives up (and the worker exits 1) when its first bootstrap fails: wait
    # for a broker that is down or restarting, instead of crash-looping under a supervisor.
    wait_for_brokers(settings.kafka.bootstrap_servers)
    app = build(settings, args.app_id, args.web_port)
    serve_metrics("worker", settings.local.run_dir, port=args.metrics_port, labels={"group": args.app_id})
    sys.argv = sys.argv[:1]
    # aiokafka's fetcher builds a debug record per fetch round when its logger inherits DEBUG:
    # ~6 % of the worker's CPU under load, for lines nobody reads.
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
