"""Screen gift requests: counters -> rules -> the screened gift and an alert per rule hit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal, Protocol

from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRequested, GiftScreened
from streams.fraud.rules import Counters, FraudConfig, evaluate
from streams.ledger.model import derived_id

PRODUCER = "fraud"


class GiftRooms(Protocol):
    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[str | None]: ...


async def screen(
    requests: Sequence[GiftRequested],
    counters: Counters,
    config: FraudConfig,
    now_s: float | None = None,
    rooms: GiftRooms | None = None,
) -> tuple[list[GiftScreened], list[FraudAlert]]:
    """Room standing first (the room must be the creator's, the sender not banned there): such a
    gift is blocked with that reason and never counted; the rest go through the fraud rules."""
    screened: list[GiftScreened] = []
    alerts: list[FraudAlert] = []
    standing = (
        await rooms.gift_problems([(r.room_id, r.sender_id, r.creator_id) for r in requests])
        if rooms is not None
        else [None] * len(requests)
    )
    for r, problem in zip(requests, standing, strict=True):
        if problem is not None:
            screened.append(_screened(r, "block", (problem,)))
            continue
        facts = await counters.facts(
            str(r.gift_id),
            r.sender_id,
            r.creator_id,
            r.total_coins,
            now_s if now_s is not None else time.time(),
        )
        decision = evaluate(facts, config)
        screened.append(_screened(r, decision.outcome, decision.enforced))
        for hit in decision.hits:
            pair = hit.rule.name == "creator_concentration"
            alerts.append(
                FraudAlert(
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
                )
            )
    return screened, alerts


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


def _screened(
    r: GiftRequested, decision: Literal["allow", "review", "block"], rules: Sequence[str]
) -> GiftScreened:
    """The request as screened: its own fields, the decision and the enforced rules."""
    return GiftScreened(
        event_id=derived_id("gift-screened", r.gift_id),
        decision=decision,
        rules=tuple(rules),
        producer=PRODUCER,
        **r.model_dump(include=REQUEST_FIELDS),
    )
