"""The fraud agent: gifts.requested -> rules -> gifts.screened, plus fraud.alerts."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import process_batches
from streams.bus.producer import EventProducer
from streams.contracts.base import Event
from streams.contracts.gifts import GiftRequested
from streams.faust_app import PlatformApp
from streams.fraud.rules import Counters, FraudConfig
from streams.fraud.screening import GiftRooms, ScreeningRecord, screen
from streams.metrics import observe_since
from streams.topics import TOPICS

log = structlog.get_logger(__name__)


def register_fraud_agent(
    app: PlatformApp,
    counters: Counters,
    config: FraudConfig,
    producer: EventProducer,
    dead_letters: DeadLetterPublisher,
    *,
    rooms: GiftRooms | None = None,
    decisions: ScreeningRecord | None = None,
    max_batch: int = 1000,
    within_s: float = 0.02,
) -> Any:
    spec = TOPICS.for_event(GiftRequested)

    @app.agent(app.raw_topic(spec), name="fraud")
    async def fraud(stream: Any) -> None:
        async def handle(batch: list[Event]) -> None:
            requests = [e for e in batch if isinstance(e, GiftRequested)]
            screened, alerts = await screen(requests, counters, config, rooms=rooms, decisions=decisions)
            await asyncio.gather(*(producer.send(e) for e in [*alerts, *screened]))
            observe_since("requested_to_screened", requests)
            if alerts:
                log.info(
                    "fraud_rules_fired",
                    alerts=len(alerts),
                    held=sum(1 for s in screened if s.decision != "allow"),
                )

        await process_batches(
            stream, spec, dead_letters, handle, max_records=max_batch, within_s=within_s, agent="fraud"
        )

    return fraud
