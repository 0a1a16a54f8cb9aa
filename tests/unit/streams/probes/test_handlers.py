"""The probe handler with in-memory fakes for its ports: delivered twice, recorded once."""

from __future__ import annotations

import json

from streams.contracts.probes import PlatformProbe
from streams.probes.handlers import channel_for, handle_probe


class FakeReceipts:
    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    async def record(self, probe: PlatformProbe, consumer: str) -> bool:
        key = str(probe.event_id)
        if key in self.rows:
            return False
        self.rows[key] = consumer
        return True


class FakeAnnouncer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    async def announce(self, channel: str, payload: bytes) -> None:
        self.sent.append((channel, json.loads(payload)))


async def test_a_probe_delivered_twice_is_recorded_once_and_announced_twice() -> None:
    receipts, announcer = FakeReceipts(), FakeAnnouncer()
    probe = PlatformProbe(run_id="run-9", seq=4, producer="test")
    assert await handle_probe(probe, receipts, announcer, consumer="w1") is True
    assert await handle_probe(probe, receipts, announcer, consumer="w1") is False
    assert len(receipts.rows) == 1
    assert [c for c, _ in announcer.sent] == [channel_for("run-9")] * 2
    assert [p["first_delivery"] for _, p in announcer.sent] == [True, False]
    assert announcer.sent[0][1]["event_id"] == str(probe.event_id)
