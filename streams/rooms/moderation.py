"""Chat moderation: each submitted message becomes accepted, held or rejected (with a reason).

Per batch: the rooms in one Redis round trip, the content rules in Python, the toxicity
classifier over every message the rules let through in one call (in rooms where it runs), the
stateful rules (bans, timeouts, slow mode, unique-chat, rate limits) in one pipelined Lua round
trip, the held messages in PostgreSQL. Decisions keep the order of the submitted messages.

The classifier's score is on every decision it judged. A room runs it off, in shadow mode (the
decision records what it would have done, ``toxicity_shadow``, and is made by the rules alone)
or on (at or above the room's thresholds a message is held for review or refused). If the
classifier is unavailable, the batch is decided by the rules alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from streams.contracts.base import Event, Role
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
    RejectReason,
)
from streams.ids import derived_id
from streams.rooms.model import Room, Verdict, judge_content, toxicity_verdict
from streams.rooms.toxicity import ClassifierUnavailable, ToxicityModel
from streams.settings import RoomSettings

log = structlog.get_logger(__name__)
Shadow = Literal["hold", "refuse"] | None


@dataclass(frozen=True)
class GateRequest:
    message_id: str
    room_id: str
    user_id: str
    text: str
    room_limit: int
    global_limit: int
    window_s: int
    slow_mode_s: int
    unique_s: int


@dataclass(frozen=True)
class GateResult:
    reason: RejectReason | None
    detail: str = ""
    retry_after_ms: int | None = None


PASS = GateResult(None)


class Rooms(Protocol):
    async def many(self, room_ids: Sequence[str]) -> dict[str, Room]: ...


class Gate(Protocol):
    async def check(self, requests: list[GateRequest]) -> list[GateResult]: ...


class HoldQueue(Protocol):
    async def hold(self, message: ChatMessageSubmitted, score: float, reason: str) -> None: ...


def decision_id(message: ChatMessageSubmitted) -> uuid.UUID:
    """A redelivered message gets the same decision event id (consumers dedupe on it)."""
    return derived_id("chat-decision", str(message.message_id))


def rejection(
    message: ChatMessageSubmitted,
    reason: RejectReason,
    detail: str,
    retry_after_ms: int | None,
    producer: str,
    toxicity: float | None = None,
    shadow: Shadow = None,
) -> ChatMessageRejected:
    return ChatMessageRejected(
        event_id=decision_id(message),
        message_id=message.message_id,
        room_id=message.room_id,
        user_id=message.user_id,
        reason=reason,
        detail=detail,
        retry_after_ms=retry_after_ms,
        producer=producer,
        toxicity=toxicity,
        toxicity_shadow=shadow,
    )


def acceptance(
    message: ChatMessageSubmitted,
    producer: str,
    released_by: str | None = None,
    toxicity: float | None = None,
    shadow: Shadow = None,
) -> ChatMessageAccepted:
    return ChatMessageAccepted(
        event_id=derived_id("chat-accepted", str(message.message_id), released_by or ""),
        message_id=message.message_id,
        room_id=message.room_id,
        user_id=message.user_id,
        user_role=message.user_role,
        display_name=message.display_name,
        text=message.text,
        released_by=released_by,
        producer=producer,
        toxicity=toxicity,
        toxicity_shadow=shadow,
    )


class ChatModerator:
    def __init__(
        self,
        rooms: Rooms,
        gate: Gate,
        holds: HoldQueue,
        settings: RoomSettings,
        producer: str,
        classifier: ToxicityModel | None = None,
    ) -> None:
        self._rooms = rooms
        self._gate = gate
        self._holds = holds
        self._settings = settings
        self._producer = producer
        self._classifier = classifier
        self.classifier_failures = 0

    @property
    def producer(self) -> str:
        """The ``producer`` stamped on this moderator's decisions."""
        return self._producer

    async def decide(self, batch: Sequence[ChatMessageSubmitted]) -> list[Event]:
        rooms = await self._rooms.many([m.room_id for m in batch])
        verdicts: list[Verdict | ChatMessageRejected] = []
        requests: list[GateRequest] = []
        to_score: list[int] = []
        for i, message in enumerate(batch):
            room = rooms.get(message.room_id)
            if room is None or room.closed:
                what = "is closed" if room else "does not exist"
                verdicts.append(
                    rejection(
                        message,
                        RejectReason.ROOM_CLOSED,
                        f"room {message.room_id} {what}",
                        None,
                        self._producer,
                    )
                )
                continue
            privileged = room.is_privileged(message.user_id, admin=message.user_role is Role.ADMIN)
            verdict = judge_content(message.text, room, privileged=privileged)
            if verdict.outcome == "reject" and verdict.reason is not None:
                verdicts.append(rejection(message, verdict.reason, verdict.detail, None, self._producer))
                continue
            verdicts.append(verdict)
            requests.append(self._gate_request(message, room, privileged))
            if not privileged and room.modes.toxicity != "off":
                to_score.append(i)
        toxicity = await self._score([batch[i] for i in to_score])
        scores = dict(zip(to_score, toxicity, strict=True)) if toxicity else {}
        gate_results = iter(await self._gate.check(requests))
        decisions: list[Event] = []
        for i, (message, judged) in enumerate(zip(batch, verdicts, strict=True)):
            if isinstance(judged, ChatMessageRejected):
                decisions.append(judged)
                continue
            verdict = judged
            gated = next(gate_results)
            score = scores.get(i)
            modes = rooms[message.room_id].modes
            called = toxicity_verdict(score, modes) if score is not None else None
            acting, shadow = (called, None) if modes.toxicity == "on" else (None, called)
            if gated.reason is not None:
                decisions.append(
                    rejection(
                        message,
                        gated.reason,
                        gated.detail,
                        gated.retry_after_ms,
                        self._producer,
                        score,
                        shadow,
                    )
                )
            elif acting == "refuse":
                detail = f"refused by the toxicity filter (score {score:.2f})"
                decisions.append(rejection(message, RejectReason.TOXIC, detail, None, self._producer, score))
            elif verdict.outcome == "hold" or acting == "hold":
                # The queue shows the score that caused the hold: AutoMod's, or the classifier's.
                if verdict.outcome == "hold" or score is None:
                    reason, hold_score = verdict.detail, verdict.score
                else:
                    reason, hold_score = f"toxicity {score:.2f}", score
                await self._holds.hold(message, hold_score, reason)
                decisions.append(
                    ChatMessageHeld(
                        event_id=decision_id(message),
                        message_id=message.message_id,
                        room_id=message.room_id,
                        user_id=message.user_id,
                        text=message.text,
                        score=verdict.score,
                        held_reason=reason,
                        toxicity=score,
                        toxicity_shadow=shadow,
                        producer=self._producer,
                    )
                )
            else:
                decisions.append(acceptance(message, self._producer, toxicity=score, shadow=shadow))
        return decisions

    async def _score(self, messages: list[ChatMessageSubmitted]) -> list[float]:
        """The classifier's scores, or none at all when it is unavailable (rules alone decide)."""
        if self._classifier is None or not messages:
            return []
        try:
            return await self._classifier.scores([m.text for m in messages])
        except ClassifierUnavailable as err:
            self.classifier_failures += 1
            log.warning("toxicity_classifier_unavailable", error=str(err), messages=len(messages))
            return []

    def _gate_request(self, message: ChatMessageSubmitted, room: Room, privileged: bool) -> GateRequest:
        s = self._settings
        factor = s.privileged_factor if privileged else 1
        return GateRequest(
            message_id=str(message.message_id),
            room_id=message.room_id,
            user_id=message.user_id,
            text=message.text,
            room_limit=s.chat_limit * factor,
            global_limit=s.global_chat_limit * factor,
            window_s=s.chat_window_s,
            slow_mode_s=0 if privileged else room.modes.slow_mode_s,
            unique_s=s.unique_window_s if room.modes.unique_chat and not privileged else 0,
        )
