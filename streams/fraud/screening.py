"""Screen gift requests: counters -> rules -> the screened gift and an alert per rule hit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from streams.contracts.base import utc_now
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRequested, GiftRoomProblem, GiftScreened
from streams.fraud.rules import Counters, FraudConfig, GiftCount, Hit, evaluate
from streams.ids import derived_id

PRODUCER = "fraud"


class GiftRooms(Protocol):
    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]: ...


Verdict = Literal["allow", "review", "block"]


@dataclass(frozen=True)
class Screening:
    """A gift's screening. ``recorded_now``: this call's decision is the one kept (so its alerts
    are raised); false when it was decided before, or by another worker first."""

    verdict: Verdict
    rules: tuple[str, ...]
    screened_at: datetime | None = None
    recorded_now: bool = True
    room_problem: GiftRoomProblem | None = None  # the room refused it: blocked before any rule


class ScreeningRecord(Protocol):
    """Each gift's screening, kept once: ``record`` keeps the first decision per gift id and
    returns what is kept (another worker's, if it got there first)."""

    async def known(self, gift_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Screening]: ...

    async def record(self, decided: Mapping[uuid.UUID, Screening]) -> dict[uuid.UUID, Screening]: ...


async def screen(
    requests: Sequence[GiftRequested],
    counters: Counters,
    config: FraudConfig,
    now_s: float | None = None,
    rooms: GiftRooms | None = None,
    decisions: ScreeningRecord | None = None,
) -> tuple[list[GiftScreened], list[FraudAlert]]:
    """Room standing first (the room must be the creator's, the sender not banned there): such a
    gift is blocked with that reason and never counted; the rest go through the fraud rules.

    A gift is screened once: with ``decisions``, a request seen before (a redelivery) gets its
    recorded decision back, with the same ``occurred_at``, and raises no alert again. Screening
    it again would read counters that moved on since, and could block a gift that settled."""
    known = await decisions.known(list({r.gift_id for r in requests})) if decisions is not None else {}
    fresh = list({r.gift_id: r for r in requests if r.gift_id not in known}.values())
    standing = (
        await rooms.gift_problems([(r.room_id, r.sender_id, r.creator_id) for r in fresh])
        if rooms is not None and fresh
        else [None] * len(fresh)
    )
    decided: dict[uuid.UUID, Screening] = {}
    hits: dict[uuid.UUID, list[Hit]] = {}
    in_good_standing = []
    for r, problem in zip(fresh, standing, strict=True):
        if problem is not None:
            decided[r.gift_id] = Screening("block", (), room_problem=problem)
        else:
            in_good_standing.append(r)
    counted = await counters.facts_many(
        [GiftCount(str(r.gift_id), r.sender_id, r.creator_id, r.total_coins) for r in in_good_standing],
        now_s if now_s is not None else time.time(),
    )
    for r, facts in zip(in_good_standing, counted, strict=True):
        decision = evaluate(facts, config)
        decided[r.gift_id] = Screening(decision.outcome, tuple(decision.enforced))
        hits[r.gift_id] = list(decision.hits)
    kept = await decisions.record(decided) if decisions is not None and decided else decided
    screenings = {**kept, **known}
    screened = [_screened(r, screenings[r.gift_id]) for r in requests]
    alerts = [
        _alert(r, hit, kept[r.gift_id].screened_at)
        for r in fresh
        if kept[r.gift_id].recorded_now
        for hit in hits.get(r.gift_id, [])
    ]
    return screened, alerts


def _alert(r: GiftRequested, hit: Hit, at: datetime | None) -> FraudAlert:
    pair = hit.rule.name == "creator_concentration"
    return FraudAlert(
        event_id=derived_id("fraud-alert", r.gift_id, hit.rule.name),
        rule=hit.rule.name,
        outcome=FraudOutcome(hit.rule.outcome),
        shadow=hit.rule.shadow,
        subject_type=FraudSubject.SENDER_CREATOR_PAIR if pair else FraudSubject.USER,
        subject_id=f"{r.sender_id}->{r.creator_id}" if pair else r.sender_id,
        user_id=r.sender_id,
        reference_id=str(r.gift_id),
        observed=hit.observed,
        threshold=hit.rule.threshold,
        window_s=hit.rule.window_s,
        producer=PRODUCER,
        occurred_at=at or utc_now(),
    )


REQUEST_FIELDS = {
    "gift_id",
    "sender_id",
    "creator_id",
    "room_id",
    "gift_sku",
    "quantity",
    "unit_price_coins",
    "total_coins",
}


def _screened(r: GiftRequested, screening: Screening) -> GiftScreened:
    """The request as screened: its own fields, the decision and the enforced rules."""
    return GiftScreened(
        event_id=derived_id("gift-screened", r.gift_id),
        decision=screening.verdict,
        rules=screening.rules,
        room_problem=screening.room_problem,
        producer=PRODUCER,
        **r.model_dump(include=REQUEST_FIELDS),
        occurred_at=screening.screened_at or utc_now(),
    )
