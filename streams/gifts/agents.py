"""The settlement agent: gifts.screened -> ledger (batched) -> gifts.outcomes."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import Poison, process_batches
from streams.bus.producer import EventProducer
from streams.contracts.base import Event
from streams.contracts.gifts import GiftScreened
from streams.faust_app import PlatformApp
from streams.gifts.holds import GiftHolds
from streams.gifts.settlement import GiftLedger, settle
from streams.metrics import observe_since
from streams.topics import TOPICS

log = structlog.get_logger(__name__)


def register_settlement_agent(
    app: PlatformApp,
    ledger: GiftLedger,
    holds: GiftHolds,
    producer: EventProducer,
    dead_letters: DeadLetterPublisher,
    *,
    max_batch: int = 1000,
    within_s: float = 0.05,
) -> Any:
    spec = TOPICS.for_event(GiftScreened)

    @app.agent(app.raw_topic(spec), name="settlement")
    async def settlement(stream: Any) -> None:
        async def handle(batch: list[Event]) -> list[Poison]:
            requests = [e for e in batch if isinstance(e, GiftScreened)]
            for held in (r for r in requests if r.decision == "review"):
                await holds.hold(held)  # an analyst approves or denies it (serving: /v1/fraud/held-gifts)
            settlement = await settle([r for r in requests if r.decision != "review"], ledger)
            # Published before Faust acknowledges the batch: a crash here means redelivery, and
            # the ledger answers a redelivered gift with its recorded outcome (same event id and
            # occurred_at, so the warehouse keeps one row).
            await asyncio.gather(*(producer.send(event) for event in settlement.events))
            observe_since("screened_to_settled", (r for r in requests if r.decision != "review"))
            settled = sum(1 for o in settlement.events if o.event_type == "gift.settled")
            log.info(
                "gifts_settled",
                batch=len(requests),
                settled=settled,
                rejected=len(settlement.events) - settled,
                conflicts=len(settlement.conflicts),
            )
            return [(request, reason) for request, reason in settlement.conflicts]

        await process_batches(
            stream, spec, dead_letters, handle, max_records=max_batch, within_s=within_s, agent="settlement"
        )

    return settlement
