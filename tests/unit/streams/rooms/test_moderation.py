"""The moderator's decisions with its ports faked: the room rules, the gate's answers, holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from streams.contracts.base import Role
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
    RejectReason,
)
from streams.rooms.model import Room, RoomModes, toxicity_verdict
from streams.rooms.moderation import PASS, ChatModerator, GateRequest, GateResult
from streams.rooms.toxicity import ClassifierUnavailable
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


class Classifier:
    """Scores by a table of texts (0 for the rest); can be made to fail."""

    name = "fake"

    def __init__(self, scores: dict[str, float], *, down: bool = False) -> None:
        self.table = scores
        self.down = down
        self.calls: list[list[str]] = []

    async def scores(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(list(texts))
        if self.down:
            raise ClassifierUnavailable("the endpoint timed out")
        return [self.table.get(t, 0.0) for t in texts]


def room_with(toxicity: str, refuse_at: float | None = None) -> Room:
    modes = RoomModes(automod_level=0, toxicity=toxicity, toxicity_hold_at=0.8, toxicity_refuse_at=refuse_at)  # type: ignore[arg-type]
    return Room("r1", "creator", modes, (), frozenset({"mod"}))


TOXIC = {"you absolute clown": 0.85, "die in a fire": 0.97}


async def test_the_classifier_holds_or_refuses_at_the_rooms_thresholds_when_it_is_on() -> None:
    classifier, holds = Classifier(TOXIC), Holds()
    moderator = ChatModerator(Rooms(room_with("on", 0.95)), Gate(), holds, RoomSettings(), "w", classifier)
    batch = [said("ann", "nice play"), said("bob", "you absolute clown"), said("cat", "die in a fire")]
    ok, held, refused = await moderator.decide(batch)
    assert isinstance(ok, ChatMessageAccepted)
    assert ok.toxicity == 0.0
    assert isinstance(held, ChatMessageHeld)
    assert (held.toxicity, held.held_reason) == (0.85, "toxicity 0.85")
    assert holds.held == [(batch[1].message_id, 0.85)], "in the review queue, with the score that held it"
    assert isinstance(refused, ChatMessageRejected)
    assert (refused.reason, refused.toxicity) == (RejectReason.TOXIC, 0.97)
    assert "toxicity filter" in refused.detail
    assert classifier.calls == [["nice play", "you absolute clown", "die in a fire"]], "one call per batch"


async def test_in_shadow_mode_the_rules_decide_and_the_decision_records_what_the_classifier_would_do() -> (
    None
):
    holds = Holds()
    moderator = ChatModerator(
        Rooms(room_with("shadow", 0.95)), Gate(), holds, RoomSettings(), "w", Classifier(TOXIC)
    )
    decisions = await moderator.decide(
        [said("ann", "nice play"), said("bob", "you absolute clown"), said("cat", "die in a fire")]
    )
    assert all(isinstance(d, ChatMessageAccepted) for d in decisions)
    assert [(d.toxicity, d.toxicity_shadow) for d in decisions] == [  # type: ignore[attr-defined]
        (0.0, None),
        (0.85, "hold"),
        (0.97, "refuse"),
    ]
    assert holds.held == []


async def test_privileged_users_rooms_with_it_off_and_rule_refusals_are_not_scored() -> None:
    classifier = Classifier(TOXIC)
    off = Room("r2", "creator2", RoomModes(toxicity="off"))
    moderator = ChatModerator(Rooms(room_with("on"), off), Gate(), Holds(), RoomSettings(), "w", classifier)
    decisions = await moderator.decide(
        [
            said("mod", "you absolute clown"),
            said("ann", "die in a fire", room="r2"),
            said("bob", "hi", room="gone"),
        ]
    )
    assert classifier.calls == []
    assert [getattr(d, "toxicity", None) for d in decisions] == [None, None, None]
    assert isinstance(decisions[0], ChatMessageAccepted)


async def test_a_failing_classifier_leaves_the_batch_to_the_rules() -> None:
    moderator = ChatModerator(
        Rooms(room_with("on")), Gate(), Holds(), RoomSettings(), "w", Classifier(TOXIC, down=True)
    )
    decisions = await moderator.decide([said("bob", "you absolute clown"), said("ann", "hello")])
    assert all(isinstance(d, ChatMessageAccepted) for d in decisions), "chat keeps flowing"
    assert [d.toxicity for d in decisions] == [None, None]  # type: ignore[attr-defined]
    assert moderator.classifier_failures == 1


async def test_a_rate_limited_message_still_carries_its_score() -> None:
    gate = Gate({"bob": GateResult(RejectReason.RATE_LIMITED, "slow down", 900)})
    moderator = ChatModerator(
        Rooms(room_with("on", 0.95)), gate, Holds(), RoomSettings(), "w", Classifier(TOXIC)
    )
    (decision,) = await moderator.decide([said("bob", "die in a fire")])
    assert isinstance(decision, ChatMessageRejected)
    assert (decision.reason, decision.toxicity) == (RejectReason.RATE_LIMITED, 0.97)


def test_a_refuse_threshold_below_the_hold_threshold_is_refused() -> None:
    with pytest.raises(ValidationError, match="toxicity_refuse_at must be at least toxicity_hold_at"):
        RoomModes(toxicity_hold_at=0.9, toxicity_refuse_at=0.5)
    assert toxicity_verdict(0.95, RoomModes(toxicity_hold_at=0.9, toxicity_refuse_at=0.95)) == "refuse"
    assert toxicity_verdict(0.9, RoomModes(toxicity_hold_at=0.9)) == "hold"
    assert toxicity_verdict(0.89, RoomModes(toxicity_hold_at=0.9)) is None
