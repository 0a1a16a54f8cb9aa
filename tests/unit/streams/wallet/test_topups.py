"""Top-up use-cases against fakes of their ports: what is refused, recorded, held and published,
and how a provider notice id is applied at most once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from streams.contracts.fraud import FraudAlert
from streams.contracts.wallet import TopUpCaptured, TopUpPending, TopUpRefunded
from streams.fraud.rules import TopUpConfig, TopUpFacts
from streams.wallet.topups import (
    ProviderNotice,
    SeenNotice,
    TopUp,
    TopUpOrder,
    TopUpPorts,
    TopUpRefused,
    apply_notice,
    request_topup,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Records:
    def __init__(self) -> None:
        self.topups: dict[uuid.UUID, TopUp] = {}
        self.notices: dict[str, SeenNotice] = {}

    async def record(self, topup: TopUp) -> None:
        self.topups.setdefault(topup.topup_id, topup)

    async def get(self, topup_id: uuid.UUID) -> TopUp | None:
        return self.topups.get(topup_id)

    async def claim_notice(self, notice: ProviderNotice) -> SeenNotice | None:
        if notice.id in self.notices:
            return self.notices[notice.id]
        self.notices[notice.id] = SeenNotice(notice.type, notice.topup_id, False)
        return None

    async def complete_notice(self, notice_id: str) -> None:
        seen = self.notices[notice_id]
        self.notices[notice_id] = SeenNotice(seen.type, seen.topup_id, True)


class Ledger:
    def __init__(self) -> None:
        self.calls: list[tuple[str, uuid.UUID]] = []

    def _transfer(self) -> Any:
        return SimpleNamespace(id=uuid.uuid4())

    async def topup_pending(self, topup_id: uuid.UUID, user_id: str, coins: int, expires_at: datetime) -> Any:
        self.calls.append(("pending", topup_id))
        return self._transfer()

    async def topup_capture(self, topup_id: uuid.UUID) -> Any:
        self.calls.append(("capture", topup_id))
        return self._transfer()

    async def topup_void(self, topup_id: uuid.UUID) -> Any:
        self.calls.append(("void", topup_id))
        return self._transfer()

    async def clawback(self, topup_id: uuid.UUID, kind: str) -> tuple[int, int]:
        self.calls.append(("clawback", topup_id))
        return 1000, 0

    async def recorded_at(self, transfer_ids: Sequence[uuid.UUID]) -> datetime:
        return NOW


class Counters:
    def __init__(self, topups_this_hour: int = 1) -> None:
        self.topups = topups_this_hour

    async def topup_facts(
        self,
        topup_id: str,
        user: str,
        instrument: str,
        device: str | None,
        ip: str | None,
        cents: int,
        now_s: float,
    ) -> TopUpFacts:
        return TopUpFacts(self.topups, cents, cents, 1, 1, 0)

    async def record_chargeback(self, user: str, topup_id: str) -> None:
        pass


class Published:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def send(self, event: Any) -> None:
        self.events.append(event)


def ports(counters: Counters | None = None) -> TopUpPorts:
    return TopUpPorts(Records(), Ledger(), counters or Counters(), Published(), "api")


ORDER = TopUpOrder("fan", 1000, "USD", "card-1", "k1", ip="203.0.113.5")


async def request(p: TopUpPorts, order: TopUpOrder = ORDER) -> TopUp:
    return await request_topup(order, p, TopUpConfig(), coins_per_usd=100, expiry_s=1800, now=NOW)


async def test_a_topup_is_recorded_held_pending_and_announced() -> None:
    p = ports()
    topup = await request(p)
    assert (topup.coins, topup.user_id) == (1000, "fan")
    assert p.records.topups == {topup.topup_id: topup}  # type: ignore[attr-defined]
    assert p.ledger.calls == [("pending", topup.topup_id)]  # type: ignore[attr-defined]
    assert [type(e) for e in p.publisher.events] == [TopUpPending]  # type: ignore[attr-defined]
    assert (await request(ports())).topup_id == topup.topup_id  # the key names the top-up


async def test_refused_topups_move_no_money() -> None:
    p = ports()
    with pytest.raises(TopUpRefused) as none:
        await request(p, TopUpOrder("fan", 0, "USD", "card-1", "k0"))
    assert none.value.reason == "no_coins"
    fast = ports(Counters(topups_this_hour=6))
    with pytest.raises(TopUpRefused) as blocked:
        await request(fast)
    assert (blocked.value.reason, blocked.value.detail) == (
        "fraud_blocked",
        "top-up refused by fraud rules: topups_per_user_hour",
    )
    assert [type(e) for e in fast.publisher.events] == [FraudAlert]  # type: ignore[attr-defined]
    assert fast.ledger.calls == []  # type: ignore[attr-defined]
    assert fast.records.topups == {}  # type: ignore[attr-defined]


async def test_a_notice_id_is_applied_once_and_never_as_another_type() -> None:
    p = ports()
    topup = await request(p)
    capture = ProviderNotice("evt-1", "payment.captured", topup.topup_id, "ch-1")
    assert await apply_notice(capture, p) is False
    assert await apply_notice(capture, p) is True  # completed: a duplicate, nothing applied
    with pytest.raises(TopUpRefused) as reused:
        await apply_notice(ProviderNotice("evt-1", "charge.refunded", topup.topup_id, "ch-1"), p)
    assert reused.value.reason == "webhook_id_reused"
    assert [c for c, _ in p.ledger.calls] == ["pending", "capture"]  # type: ignore[attr-defined]
    refund = ProviderNotice("evt-2", "charge.refunded", topup.topup_id, "ch-1")
    assert await apply_notice(refund, p) is False
    kinds = [type(e) for e in p.publisher.events]  # type: ignore[attr-defined]
    assert kinds == [TopUpPending, TopUpCaptured, TopUpRefunded]
    with pytest.raises(TopUpRefused) as unknown:
        await apply_notice(ProviderNotice("evt-3", "payment.captured", uuid.uuid4(), "ch-1"), p)
    assert unknown.value.reason == "unknown_topup"


async def test_a_claimed_but_unfinished_notice_is_redone_by_the_retry() -> None:
    p = ports()
    topup = await request(p)
    capture = ProviderNotice("evt-1", "payment.captured", topup.topup_id, "ch-1")
    await p.records.claim_notice(capture)  # the first attempt died after its claim
    assert await apply_notice(capture, p) is False
    assert p.ledger.calls[-1] == ("capture", topup.topup_id)  # type: ignore[attr-defined]
