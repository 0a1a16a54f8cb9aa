"""Handle one probe: record it idempotently, then announce it on the run's channel."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from streams.contracts.probes import PlatformProbe
from streams.probes.ports import Announcer, ProbeReceipts


def channel_for(run_id: str) -> str:
    return f"probes:{run_id}"


async def handle_probe(
    probe: PlatformProbe, receipts: ProbeReceipts, announcer: Announcer, consumer: str
) -> bool:
    """Returns True when this delivery was the first one for the probe's event id."""
    first = await receipts.record(probe, consumer)
    payload = orjson.dumps(
        {
            "event_id": str(probe.event_id),
            "seq": probe.seq,
            "first_delivery": first,
            "consumer": consumer,
            "handled_at": datetime.now(UTC).isoformat(),
        }
    )
    await announcer.announce(channel_for(probe.run_id), payload)
    return first
