"""Screen gift requests: counters -> rules -> the screened gift and an alert per rule hit."""

from __future__ import annotations

import time
from collections.abc import Sequence

from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRequested, GiftScreened
from streams.fraud.rules import Counters, FraudConfig, evaluate
from streams.ledger.model import derived_id

PRODUCER = "fraud"


async def screen(
    requests: Sequence[GiftRequested], counters: Counters, config: FraudConfig, now_s: float | None = None
) -> tuple[list[GiftScreened], list[FraudAlert]]:
    screened: list[GiftScreened] = []
    alerts: list[FraudAlert] = []
    for r in requests:
        facts = await counters.facts(
            str(r.gift_id),
            r.sender_id,
            r.creator_id,
            r.total_coins,
            now_s if now_s is not None else time.time(),
        )
        decision = evaluate(facts, config)
        screened.append(
            GiftScreened(
                event_id=derived_id("gift-screened", r.gift_id),
                gift_id=r.gift_id,
                sender_id=r.sender_id,
                creator_id=r.creator_id,
                room_id=r.room_id,
                gift_sku=r.gift_sku,
                quantity=r.quantity,
                unit_price_coins=r.unit_price_coins,
                total_coins=r.total_coins,
                decision=decision.outcome,
                rules=decision.enforced,
                producer=PRODUCER,
            )
        )
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
