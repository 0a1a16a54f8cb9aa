"""Buying coins: a top-up is requested (screened by the fraud rules, recorded, held as pending
coins in the ledger), then the payment provider's notices capture, fail or claw it back.

The one implementation behind ``POST /v1/wallet/topups`` and ``POST /v1/payments/webhook``.
Ids derive from (user, idempotency key) and from the top-up, so every step is safe to retry.
A provider notice id is claimed with its type and top-up before any money moves: the same id
sent as another type (a captured id re-sent as a refund) is refused, never applied, even while
the first is still in flight; a claimed but unfinished notice (its publish timed out, the process
died) is redone harmlessly by the provider's retry, and only a completed one is a duplicate.
Refusals are :class:`TopUpRefused` with a stable ``reason``; the edge maps them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from streams.contracts.base import utc_now
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.wallet import ClawbackKind, TopUpCaptured, TopUpFailed, TopUpPending, TopUpRefunded
from streams.exceptions import Refused
from streams.fraud.rules import TopUpConfig, TopUpFacts, evaluate_topup
from streams.ids import derived_id
from streams.ledger.model import Transfer

NoticeType = Literal["payment.captured", "payment.failed", "charge.refunded", "charge.dispute.lost"]
TOPUP_SUBJECTS = {
    "cents_per_instrument_hour": FraudSubject.PAYMENT_INSTRUMENT,
    "topups_per_device_hour": FraudSubject.DEVICE,
    "topups_per_ip_hour": FraudSubject.IP,
}


class TopUpRefused(Refused):
    """``reason``: no_coins, fraud_blocked, unknown_topup or webhook_id_reused."""


@dataclass(frozen=True)
class TopUpOrder:
    user_id: str
    amount_cents: int
    currency: str
    payment_instrument_id: str
    idempotency_key: str
    device_id: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class TopUp:
    topup_id: uuid.UUID
    user_id: str
    amount_cents: int
    currency: str
    coins: int
    payment_instrument_id: str


@dataclass(frozen=True)
class ProviderNotice:
    """A payment provider's webhook event, signature already checked."""

    id: str
    type: NoticeType
    topup_id: uuid.UUID
    provider_ref: str
    reason: str = ""


@dataclass(frozen=True)
class SeenNotice:
    type: str
    topup_id: uuid.UUID
    completed: bool


class TopUpRecords(Protocol):
    async def record(self, topup: TopUp) -> None: ...
    async def get(self, topup_id: uuid.UUID) -> TopUp | None: ...
    async def claim_notice(self, notice: ProviderNotice) -> SeenNotice | None:
        """None when this call claimed the id; else what the id was claimed as before."""
        ...

    async def complete_notice(self, notice_id: str) -> None: ...


class TopUpLedger(Protocol):
    async def topup_pending(
        self, topup_id: uuid.UUID, user_id: str, coins: int, expires_at: datetime
    ) -> Transfer: ...
    async def topup_capture(self, topup_id: uuid.UUID) -> Transfer: ...
    async def topup_void(self, topup_id: uuid.UUID) -> Transfer: ...
    async def clawback(self, topup_id: uuid.UUID, kind: str) -> tuple[int, int]: ...
    async def recorded_at(self, transfer_ids: Sequence[uuid.UUID]) -> datetime: ...


class TopUpCounters(Protocol):
    async def topup_facts(
        self,
        topup_id: str,
        user: str,
        instrument: str,
        device: str | None,
        ip: str | None,
        cents: int,
        now_s: float,
    ) -> TopUpFacts: ...
    async def record_chargeback(self, user: str, topup_id: str) -> None: ...


class Publisher(Protocol):
    async def send(self, event: Any) -> Any: ...


@dataclass(frozen=True)
class TopUpPorts:
    records: TopUpRecords
    ledger: TopUpLedger
    counters: TopUpCounters
    publisher: Publisher
    producer: str


async def request_topup(
    order: TopUpOrder,
    ports: TopUpPorts,
    rules: TopUpConfig,
    *,
    coins_per_usd: int,
    expiry_s: int,
    now: datetime | None = None,
) -> TopUp:
    """Screen, record and hold the coins pending; publishes ``wallet.topup.pending``."""
    coins = order.amount_cents * coins_per_usd // 100
    if coins <= 0:
        raise TopUpRefused("no_coins", f"{order.amount_cents} cents buys no coins")
    topup = TopUp(
        derived_id("api-topup", order.user_id, order.idempotency_key),
        order.user_id,
        order.amount_cents,
        order.currency,
        coins,
        order.payment_instrument_id,
    )
    at = now or utc_now()
    await screen(order, topup.topup_id, ports, rules, at)
    await ports.records.record(topup)
    await ports.ledger.topup_pending(topup.topup_id, order.user_id, coins, at + timedelta(seconds=expiry_s))
    await ports.publisher.send(
        TopUpPending(
            event_id=derived_id("topup-event", topup.topup_id, "pending"),
            topup_id=topup.topup_id,
            user_id=order.user_id,
            amount_cents=order.amount_cents,
            currency=order.currency,
            coins=coins,
            payment_instrument_id=order.payment_instrument_id,
            device_id=order.device_id,
            ip=order.ip,
            producer=ports.producer,
        )
    )
    return topup


async def screen(
    order: TopUpOrder, topup_id: uuid.UUID, ports: TopUpPorts, rules: TopUpConfig, at: datetime
) -> None:
    """Top-up velocity and chargeback-history rules: every hit is an alert; a block refuses."""
    facts = await ports.counters.topup_facts(
        str(topup_id),
        order.user_id,
        order.payment_instrument_id,
        order.device_id,
        order.ip,
        order.amount_cents,
        at.timestamp(),
    )
    decision = evaluate_topup(facts, rules)
    subjects = {
        FraudSubject.PAYMENT_INSTRUMENT: order.payment_instrument_id,
        FraudSubject.DEVICE: order.device_id or "-",
        FraudSubject.IP: order.ip or "-",
        FraudSubject.USER: order.user_id,
    }
    for hit in decision.hits:
        subject = TOPUP_SUBJECTS.get(hit.rule.name, FraudSubject.USER)
        await ports.publisher.send(
            FraudAlert(
                event_id=derived_id("fraud-alert", topup_id, hit.rule.name),
                rule=hit.rule.name,
                outcome=FraudOutcome(hit.rule.outcome),
                shadow=hit.rule.shadow,
                subject_type=subject,
                subject_id=subjects[subject],
                user_id=order.user_id,
                reference_id=str(topup_id),
                observed=hit.observed,
                threshold=hit.rule.threshold,
                window_s=hit.rule.window_s,
                producer=ports.producer,
            )
        )
    if decision.outcome == "block":
        raise TopUpRefused("fraud_blocked", "top-up refused by fraud rules: " + ", ".join(decision.decisive))


async def apply_notice(notice: ProviderNotice, ports: TopUpPorts) -> bool:
    """Apply a provider notice once per notice id; True when it was a completed duplicate."""
    topup = await ports.records.get(notice.topup_id)
    if topup is None:
        raise TopUpRefused("unknown_topup", f"no top-up {notice.topup_id}")
    seen = await ports.records.claim_notice(notice)
    if seen is not None:
        if (seen.type, seen.topup_id) != (notice.type, notice.topup_id):
            raise TopUpRefused(
                "webhook_id_reused",
                f"webhook event {notice.id} was received before as {seen.type} of top-up {seen.topup_id}; "
                "an event id names one event",
            )
        if seen.completed:
            return True
    await ports.publisher.send(await outcome_of(notice, topup, ports))
    await ports.records.complete_notice(notice.id)
    return False


async def outcome_of(
    notice: ProviderNotice, topup: TopUp, ports: TopUpPorts
) -> TopUpCaptured | TopUpFailed | TopUpRefunded:
    """The ledger operation for a notice, and the outcome event stamped with when the ledger
    recorded it (a retry publishes the very same event)."""
    ledger = ports.ledger
    if notice.type == "payment.captured":
        transfer = await ledger.topup_capture(notice.topup_id)
        return TopUpCaptured(
            topup_id=notice.topup_id,
            user_id=topup.user_id,
            amount_cents=topup.amount_cents,
            currency=topup.currency,
            coins=topup.coins,
            provider_ref=notice.provider_ref,
            transfer_id=transfer.id,
            producer=ports.producer,
            event_id=derived_id("topup-event", notice.topup_id, "captured"),
            occurred_at=await ledger.recorded_at([transfer.id]),
        )
    if notice.type == "payment.failed":
        void = await ledger.topup_void(notice.topup_id)
        return TopUpFailed(
            topup_id=notice.topup_id,
            user_id=topup.user_id,
            reason=notice.reason or "payment failed",
            producer=ports.producer,
            event_id=derived_id("topup-event", notice.topup_id, "failed"),
            occurred_at=await ledger.recorded_at([void.id]),
        )
    kind = ClawbackKind.REFUND if notice.type == "charge.refunded" else ClawbackKind.CHARGEBACK
    taken, debt = await ledger.clawback(notice.topup_id, kind.value)
    if kind is ClawbackKind.CHARGEBACK:
        await ports.counters.record_chargeback(topup.user_id, str(notice.topup_id))
    return TopUpRefunded(
        topup_id=notice.topup_id,
        user_id=topup.user_id,
        kind=kind,
        amount_cents=topup.amount_cents,
        currency=topup.currency,
        coins_clawed_back=taken,
        debt_coins=debt,
        producer=ports.producer,
        event_id=derived_id("topup-event", notice.topup_id, kind.value),
        occurred_at=await ledger.recorded_at(
            [
                derived_id("clawback", notice.topup_id, "wallet"),
                derived_id("clawback", notice.topup_id, "debt"),
            ]
        ),
    )
