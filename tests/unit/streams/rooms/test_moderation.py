"""The moderator's decisions with its ports faked: the room rules, the gate's answers, holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from streams.contracts.base import Role
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
    RejectReason,
)
from streams.rooms.model import Room, RoomModes
from streams.rooms.moderation import PASS, ChatModerator, GateRequest, GateResult
from streams.settings import RoomSettings


class Rooms:
    def __init__(self, *rooms: Room) -> None:
        self.rooms = {r.room_id: r for r in rooms}

    async def many(self, room_ids: Sequence[str]) -> dict[str, Room]:
        return {r: self.rooms[r] for r in room_ids if r in self.rooms}


class Gate:
    def __init__(self, refuse: dict[str, GateResult] | None = None) -> None:
        self.refuse = refuse or {}
        self.seen: list[GateRequest] = []

    async def check(self, requests: list[GateRequest]) -> list[GateResult]:
        self.seen.extend(requests)
        return [self.refuse.get(r.user_id, PASS) for r in requests]


class Holds:
    def __init__(self) -> None:
        self.held: list[tuple[uuid.UUID, float]] = []

    async def hold(self, message: ChatMessageSubmitted, score: float, reason: str) -> None:
        self.held.append((message.message_id, score))


def said(user: str, text: str, room: str = "r1", role: Role = Role.VIEWER) -> ChatMessageSubmitted:
    return ChatMessageSubmitted(
        message_id=uuid.uuid4(), room_id=room, user_id=user, user_role=role, text=text, producer="gw"
    )


ROOM = Room(
    "r1",
    "creator",
    RoomModes(slow_mode_s=10, unique_chat=True, automod_level=3),
    ("spoiler",),
    frozenset({"mod"}),
)


async def test_each_message_gets_one_decision_in_order() -> None:
    gate, holds = Gate({"flooder": GateResult(RejectReason.RATE_LIMITED, "slow down", 1500)}), Holds()
    moderator = ChatModerator(Rooms(ROOM), gate, holds, RoomSettings(), "w")
    batch = [
        said("ann", "hello"),
        said("ann", "no spoiler please"),
        said("flooder", "spam"),
        said("bob", "you idiot"),
        said("cat", "hi", room="gone"),
    ]
    decisions = await moderator.decide(batch)
    assert [type(d) for d in decisions] == [
        ChatMessageAccepted,
        ChatMessageRejected,
        ChatMessageRejected,
        ChatMessageHeld,
        ChatMessageRejected,
    ]
    assert [getattr(d, "reason", None) for d in decisions] == [
        None,
        RejectReason.BANNED_TERM,
        RejectReason.RATE_LIMITED,
        None,
        RejectReason.ROOM_CLOSED,
    ]
    assert decisions[2].retry_after_ms == 1500  # type: ignore[attr-defined]
    assert holds.held == [(batch[3].message_id, 0.5)]
    # Content rejections never reach the gate (they use no rate budget).
    assert [r.user_id for r in gate.seen] == ["ann", "flooder", "bob"]
    assert all(d.message_id == m.message_id for d, m in zip(decisions, batch, strict=True))  # type: ignore[attr-defined]


async def test_staff_get_a_bigger_budget_and_skip_the_modes() -> None:
    gate = Gate()
    settings = RoomSettings(chat_limit=20, privileged_factor=5)
    await ChatModerator(Rooms(ROOM), gate, Holds(), settings, "w").decide(
        [said("mod", "you idiot spoiler"), said("viewer", "hi"), said("boss", "hi", role=Role.ADMIN)]
    )
    mod, viewer, admin = gate.seen
    assert (mod.room_limit, mod.slow_mode_s, mod.unique_s) == (100, 0, 0)
    assert (viewer.room_limit, viewer.slow_mode_s, viewer.unique_s) == (20, 10, 30)
    assert admin.room_limit == 100


async def test_a_redelivered_message_gets_the_same_decision_event_id() -> None:
    moderator = ChatModerator(Rooms(ROOM), Gate(), Holds(), RoomSettings(), "w")
    message = said("ann", "hello")
    (first,), (again,) = await moderator.decide([message]), await moderator.decide([message])
    assert first.event_id == again.event_id
