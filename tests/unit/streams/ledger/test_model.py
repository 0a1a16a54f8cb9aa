"""Ledger maths, property-based: coins are never created or lost, wallets never go negative."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.ids import derived_id
from streams.ledger.model import (
    COIN_ISSUANCE,
    COINS,
    Flags,
    GiftRequest,
    LedgerError,
    Totals,
    Transfer,
    apply,
    conserved,
    decide_gifts,
    overdrawn,
    split,
)

USERS = ["a", "b", "c", "d"]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_a_split_always_adds_up(total: int, bps: int) -> None:
    share, fee = split(total, bps)
    assert share + fee == total
    assert share >= 0
    assert fee >= 0


gift_strategy = st.builds(
    GiftRequest,
    gift_id=st.uuids(),
    sender_id=st.sampled_from(USERS),
    creator_id=st.sampled_from(["c1", "c2", "a"]),
    room_id=st.just("room-1"),
    gift_sku=st.just("rose"),
    quantity=st.integers(1, 5),
    total_coins=st.integers(1, 400),
)


@given(st.lists(gift_strategy, max_size=40), st.dictionaries(st.sampled_from(USERS), st.integers(0, 1000)))
def test_settling_gifts_conserves_coins_and_never_overdraws(
    gifts: list[GiftRequest], wallets: dict[str, int]
) -> None:
    totals: dict[str, Totals] = {}
    assets: dict[str, str] = {}
    for user, coins in wallets.items():  # top-ups first
        if coins:
            t = Transfer(
                uuid.uuid4(),
                uuid.uuid4(),
                "topup",
                Flags.POSTED,
                COINS,
                coins,
                COIN_ISSUANCE,
                f"user_coins:{user}",
                "t",
            )
            apply(totals, t)
    available = {f"user_coins:{u}": totals.get(f"user_coins:{u}", Totals()).available for u in USERS}
    outcomes = decide_gifts(gifts, available, 7000)
    for outcome in outcomes:
        for leg in outcome.transfers:
            apply(totals, leg)
    for account_id in totals:
        assets[account_id] = COINS
    assert overdrawn(totals) == []
    assert conserved(totals, assets) == {COINS: 0} or not totals
    settled = [o for o in outcomes if o.settled]
    assert sum(o.creator_share + o.platform_fee for o in settled) == sum(
        g.total_coins for g, o in zip(gifts, outcomes, strict=True) if o.settled
    )
    assert all(
        o.reason == "self_gift" for g, o in zip(gifts, outcomes, strict=True) if g.sender_id == g.creator_id
    )


def test_transfer_ids_are_derived_from_their_cause() -> None:
    gift = uuid.uuid4()
    assert derived_id("gift", gift, "share") == derived_id("gift", gift, "share")
    assert derived_id("gift", gift, "share") != derived_id("gift", gift, "fee")


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amounts_are_positive_integers(amount: object) -> None:
    with pytest.raises(LedgerError, match="positive integer"):
        Transfer(
            uuid.uuid4(), uuid.uuid4(), "x", Flags.POSTED, COINS, amount, "system:a", "user_coins:b", "r"
        )  # type: ignore[arg-type]


def test_pending_then_posted_moves_the_reservation_to_the_balance() -> None:
    totals: dict[str, Totals] = {}
    pending = Transfer(
        uuid.uuid4(), uuid.uuid4(), "topup", Flags.PENDING, COINS, 50, COIN_ISSUANCE, "user_coins:a", "t"
    )
    apply(totals, pending)
    assert totals["user_coins:a"].balance == 0  # not spendable while pending
    assert totals["user_coins:a"].credits_pending == 50
    post = Transfer(
        uuid.uuid4(),
        pending.posting_id,
        "topup",
        Flags.POST_PENDING,
        COINS,
        50,
        COIN_ISSUANCE,
        "user_coins:a",
        "t",
        pending_id=pending.id,
    )
    apply(totals, post, pending)
    assert totals["user_coins:a"].balance == 50
    assert totals["user_coins:a"].credits_pending == 0
    assert totals[COIN_ISSUANCE].debits_pending == 0
