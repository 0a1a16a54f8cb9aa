"""Reaction coalescing: every tap of a room within one short window becomes one burst."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from streams.contracts.reactions import ReactionBurst, ReactionKind, ReactionSubmitted


@dataclass
class _Window:
    start: datetime
    end: datetime
    counts: Counter[ReactionKind] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)


class ReactionCoalescer:
    """Accumulates taps per room; ``flush`` turns each room's window into one ``ReactionBurst``."""

    def __init__(self, producer: str) -> None:
        self._producer = producer
        self._windows: dict[str, _Window] = {}

    def add(self, tap: ReactionSubmitted) -> None:
        window = self._windows.get(tap.room_id)
        if window is None:
            window = self._windows[tap.room_id] = _Window(tap.occurred_at, tap.occurred_at)
        window.start = min(window.start, tap.occurred_at)
        window.end = max(window.end, tap.occurred_at)
        window.counts[tap.reaction] += 1
        window.users.add(tap.user_id)

    def pending(self) -> int:
        return sum(w.counts.total() for w in self._windows.values())

    def flush(self) -> list[ReactionBurst]:
        windows, self._windows = self._windows, {}
        return [
            ReactionBurst(
                event_id=uuid.uuid4(),
                room_id=room_id,
                window_start=w.start,
                window_end=w.end,
                counts=dict(w.counts),
                unique_users=len(w.users),
                producer=self._producer,
            )
            for room_id, w in windows.items()
        ]
