"""What the probe handler needs from the outside world."""

from __future__ import annotations

from typing import Protocol

from streams.contracts.probes import PlatformProbe


class ProbeReceipts(Protocol):
    async def record(self, probe: PlatformProbe, consumer: str) -> bool:
        """Store the receipt; True if new, False if this event id was already recorded."""
        ...


class Announcer(Protocol):
    async def announce(self, channel: str, payload: bytes) -> None: ...
