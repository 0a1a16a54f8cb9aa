"""The probe agent: Kafka (ops.probes) -> contract decode -> PostgreSQL + Redis."""

from __future__ import annotations

from typing import Any

import structlog

from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import process_events
from streams.contracts.base import Event
from streams.contracts.probes import PlatformProbe
from streams.faust_app import PlatformApp
from streams.probes.handlers import handle_probe
from streams.probes.ports import Announcer, ProbeReceipts
from streams.topics import TOPICS

log = structlog.get_logger(__name__)


def register_probe_agent(
    app: PlatformApp, receipts: ProbeReceipts, announcer: Announcer, dead_letters: DeadLetterPublisher
) -> Any:
    spec = TOPICS.for_event(PlatformProbe)

    @app.agent(app.raw_topic(spec), name="probes")
    async def probes(stream: Any) -> None:
        async def handle(event: Event) -> None:
            assert isinstance(event, PlatformProbe)
            first = await handle_probe(event, receipts, announcer, consumer=app.conf.id)
            log.info("probe_handled", run_id=event.run_id, seq=event.seq, first_delivery=first)

        await process_events(stream, spec, dead_letters, handle, agent="probes")

    return probes
