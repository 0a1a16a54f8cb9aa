"""settle() against a fake ledger that decides each gift once, as the PostgreSQL ledger does:
what reaches the ledger, which outcome events come out, and how a replay is answered."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from streams.contracts.gifts import GiftRejected, GiftRejectReason, GiftRequested, GiftScreened, GiftSettled
from streams.gifts.settlement import settle
from streams.ids import derived_id
from streams.ledger.model import GiftOutcome, GiftRequest, split

DECIDED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Ledger:
    """Balances in coins; each gift id decided once (a replay gets the recorded outcome)."""

    creator_share_bps = 7000

    def __init__(self, balances: dict[str, int]) -> None:
        self.balances = dict(balances)
        self.decided: dict[uuid.UUID, tuple[str, GiftOutcome]] = {}
        self.seen: list[GiftRequest] = []

    async def settle_gifts(self, gifts: Sequence[GiftRequest]) -> list[GiftOutcome]:
        out = []
        for g in gifts:
            self.seen.append(g)
            if g.gift_id in self.decided:
                fingerprint, outcome = self.decided[g.gift_id]
                out.append(
                    outcome
                    if fingerprint == g.fingerprint()
                    else GiftOutcome(g.gift_id, False, None, None, None, conflict=True)
                )
                continue
            if g.refusal is not None:
                outcome = GiftOutcome(
                    g.gift_id, False, g.refusal[0], None, None, detail=g.refusal[1], decided_at=DECIDED
                )
            elif self.balances.get(g.sender_id, 0) < g.total_coins:
                outcome = GiftOutcome(
                    g.gift_id,
                    False,
                    "insufficient_funds",
                    None,
                    None,
                    detail="not enough coins",
                    decided_at=DECIDED,
                )
            else:
                self.balances[g.sender_id] -= g.total_coins
                share, fee = split(g.total_coins, self.creator_share_bps)
                outcome = GiftOutcome(
                    g.gift_id,
                    True,
                    None,
                    uuid.uuid4(),
                    self.balances[g.sender_id],
                    share,
                    fee,
                    decided_at=DECIDED,
                )
            self.decided[g.gift_id] = (g.fingerprint(), outcome)
            out.append(outcome)
        return out


def requested(sku: str = "star", quantity: int = 1, price: int = 100, sender: str = "fan") -> GiftRequested:
    gift_id = uuid.uuid4()
    return GiftRequested(
        event_id=derived_id("gift-requested", gift_id),
        gift_id=gift_id,
        sender_id=sender,
        creator_id="maya",
        room_id="room-1",
        gift_sku=sku,
        quantity=quantity,
        unit_price_coins=price,
        total_coins=price * quantity,
        producer="api",
    )


def screened(r: GiftRequested, decision: str, rules: tuple[str, ...]) -> GiftScreened:
    return GiftScreened(
        **r.model_dump(
            include={
                "gift_id",
                "sender_id",
                "creator_id",
                "room_id",
                "gift_sku",
                "quantity",
                "unit_price_coins",
                "total_coins",
            }
        ),
        decision=decision,  # type: ignore[arg-type]
        rules=rules,
        producer="fraud",
    )


async def test_a_funded_gift_settles_with_the_creators_share_and_a_replay_is_the_same_event() -> None:
    ledger = Ledger({"fan": 250})
    gift = requested(quantity=2)
    first = await settle([gift], ledger)
    (event,) = first.events
    assert isinstance(event, GiftSettled)
    assert (event.total_coins, event.creator_share_coins, event.platform_fee_coins) == (200, 140, 60)
    assert (event.sender_balance_after, event.occurred_at) == (50, DECIDED)
    again = await settle([gift], ledger)
    assert again.events == first.events  # same event id, same occurred_at: the sink counts it once
    assert ledger.balances["fan"] == 50


async def test_refusals_reach_the_ledger_as_recorded_outcomes() -> None:
    ledger = Ledger({"fan": 1000})
    unknown = requested(sku="unicorn")
    mispriced = requested(price=1)
    poor = requested(sender="broke")
    banned = screened(requested(), "block", ("sender_banned",))
    held = screened(requested(), "review", ("gifts_per_minute",))
    result = await settle([unknown, mispriced, poor, banned, held], ledger)
    reasons = [(type(e), e.reason if isinstance(e, GiftRejected) else None) for e in result.events]
    assert reasons == [
        (GiftRejected, GiftRejectReason.UNKNOWN_GIFT),
        (GiftRejected, GiftRejectReason.UNKNOWN_GIFT),
        (GiftRejected, GiftRejectReason.INSUFFICIENT_FUNDS),
        (GiftRejected, GiftRejectReason.SENDER_BANNED),
        (GiftRejected, GiftRejectReason.FRAUD_REVIEW),
    ]
    assert "costs 100 coins, the request said 1" in result.events[1].detail  # type: ignore[union-attr]
    assert ledger.balances["fan"] == 1000  # nothing refused moved a coin
    assert [g.refusal is not None for g in ledger.seen] == [True, True, False, True, True]


async def test_an_override_and_a_reused_gift_id() -> None:
    ledger = Ledger({"fan": 1000})
    gift = requested()
    denied = await settle(
        [gift], ledger, overrides={gift.gift_id: (GiftRejectReason.FRAUD_BLOCK, "denied by an analyst")}
    )
    assert denied.events[0].reason is GiftRejectReason.FRAUD_BLOCK  # type: ignore[union-attr]
    # A later approval cannot change a decided gift: the outcome is replayed as recorded.
    assert (await settle([gift], ledger)).events == denied.events
    other = gift.model_copy(update={"quantity": 3, "total_coins": 300})
    reused = await settle([other], ledger)
    assert reused.events == []
    assert reused.conflicts == [
        (other, f"gift id {gift.gift_id} was already decided for a different request")
    ]
