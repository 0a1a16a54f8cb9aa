from __future__ import annotations

from datetime import timedelta
from typing import Any

from streams.contracts.gifts import GiftRejected, GiftSettled
from streams.fanout.gifts import fan_out_gift
from tests.samples import T0, sample


class RecordingEmitter:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None:
        self.sent.append((event, data, room))


async def test_a_settled_gift_animates_the_room_and_updates_the_sender() -> None:
    emitter = RecordingEmitter()
    assert await fan_out_gift(sample(GiftSettled), emitter, now=T0 + timedelta(seconds=1))  # type: ignore[arg-type]
    assert [(e, r) for e, _, r in emitter.sent] == [("gift", "room-1"), ("balance", "user:viewer-1")]
    assert emitter.sent[1][1]["available"] == 70


async def test_a_rejection_reaches_only_the_sender() -> None:
    emitter = RecordingEmitter()
    await fan_out_gift(sample(GiftRejected), emitter, now=T0)  # type: ignore[arg-type]
    assert emitter.sent == [("gift_rejected", emitter.sent[0][1], "user:viewer-1")]
    assert emitter.sent[0][1]["reason"] == "insufficient_funds"


async def test_stale_outcomes_are_not_animated() -> None:
    emitter = RecordingEmitter()
    assert not await fan_out_gift(sample(GiftSettled), emitter, now=T0 + timedelta(minutes=5))  # type: ignore[arg-type]
    assert emitter.sent == []
