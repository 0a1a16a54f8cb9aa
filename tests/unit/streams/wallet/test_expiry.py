"""Top-up expiry: every voided top-up is announced once, with the id a webhook failure uses."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from streams.contracts.wallet import TopUpFailed
from streams.ids import derived_id
from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, Transfer
from streams.wallet.expiry import expire_topups


class Voids:
    def __init__(self, voids: list[Transfer]) -> None:
        self.voids = voids

    async def void_expired(self, now: datetime, limit: int = 1000) -> list[Transfer]:
        done, self.voids = self.voids, []
        return done


class Sent:
    def __init__(self) -> None:
        self.events: list[TopUpFailed] = []

    async def send(self, event: TopUpFailed) -> object:
        self.events.append(event)
        return None


def void(topup_id: uuid.UUID, kind: str = "topup") -> Transfer:
    pending = derived_id("topup", topup_id)
    return Transfer(
        derived_id("expire", pending),
        pending,
        kind,
        Flags.VOID_PENDING,
        COINS,
        100,
        COIN_ISSUANCE,
        "user_coins:ann",
        str(topup_id),
        pending_id=pending,
    )


def test_each_expired_top_up_is_announced_as_failed() -> None:
    topup = uuid.uuid4()
    ledger, sent = Voids([void(topup), void(uuid.uuid4(), kind="payout")]), Sent()
    assert asyncio.run(expire_topups(ledger, sent, datetime.now(UTC))) == 1
    assert asyncio.run(expire_topups(ledger, sent, datetime.now(UTC))) == 0  # nothing left to void
    (event,) = sent.events
    assert (event.topup_id, event.user_id) == (topup, "ann")
    assert event.event_id == derived_id("topup-event", topup, "failed")
    assert event.reason.startswith("expired")
