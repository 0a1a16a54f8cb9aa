from __future__ import annotations

from datetime import timedelta

from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.rooms.coalesce import ReactionCoalescer
from tests.samples import T0


def tap(room: str, user: str, kind: ReactionKind, ms: int) -> ReactionSubmitted:
    return ReactionSubmitted(
        room_id=room, user_id=user, reaction=kind, occurred_at=T0 + timedelta(milliseconds=ms), producer="t"
    )


def test_taps_of_one_window_become_one_burst_per_room() -> None:
    coalescer = ReactionCoalescer("worker")
    for i in range(100):
        coalescer.add(tap("hot", f"u{i % 7}", ReactionKind.HEART if i % 5 else ReactionKind.FIRE, i))
    coalescer.add(tap("quiet", "u1", ReactionKind.CLAP, 50))
    assert coalescer.pending() == 101
    bursts = {b.room_id: b for b in coalescer.flush()}
    hot = bursts["hot"]
    assert hot.counts == {ReactionKind.HEART: 80, ReactionKind.FIRE: 20}
    assert (hot.unique_users, hot.total) == (7, 100)
    assert (hot.window_start, hot.window_end) == (T0, T0 + timedelta(milliseconds=99))
    assert bursts["quiet"].counts == {ReactionKind.CLAP: 1}
    assert coalescer.flush() == []  # a flushed window is gone
    assert coalescer.pending() == 0
