"""HTTP routes: wallet top-ups, the payment webhook, gifts, balances, statements, earnings.
Routes translate; the ledger and the contracts decide."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.api.auth_limits import client_address
from serving.api.idempotency import SQL
from serving.api.models import (
    Balance,
    Earnings,
    GiftAccepted,
    GiftBody,
    Statement,
    StatementItem,
    TopUpRequest,
    TopUpResponse,
    WebhookEvent,
)
from serving.api.openapi import raw_body
from serving.api.params import UserPath, UserQuery
from serving.api.state import AppState, IdempotencyKey, PrincipalDep, StateDep, require_self_or
from serving.api.webhooks import verify as verify_webhook
from serving.auth.tokens import issue
from serving.exceptions import Forbidden, NotFound, Unauthorized, Unprocessable
from streams.contracts.base import Role, UserId
from streams.contracts.codec import describe
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.wallet import ClawbackKind, TopUpCaptured, TopUpFailed, TopUpPending, TopUpRefunded
from streams.fraud.rules import evaluate_topup
from streams.gifts.requests import GiftOrder, request_gift
from streams.ledger.model import AccountKind, account, derived_id

PRODUCER = "api"
router = APIRouter(prefix="/v1")


def parse(model: type[Any], body: bytes) -> Any:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as err:
        raise Unprocessable(describe(err)) from None


def respond(status: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else {})


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    roles: list[Role] = Field(default=[Role.VIEWER], min_length=1, max_length=len(Role))


@router.post("/auth/dev-token", tags=["auth"], openapi_extra=raw_body(DevTokenRequest))
async def dev_token(state: StateDep, request: Request) -> dict[str, str]:
    """Development sign-in: a token for any user and roles. Off unless AUTH_DEV_TOKENS is set
    (`make up` sets it for this machine); refused in production."""
    if not state.settings.auth.dev_tokens:
        raise NotFound("dev tokens are disabled")
    await state.auth_limits.hit("dev-token", client_address(request))
    body: DevTokenRequest = parse(DevTokenRequest, await request.body())
    token = issue(
        state.settings.auth.token_secret.get_secret_value(),
        body.user_id,
        body.roles,
        state.settings.auth.token_ttl_s,
    )
    return {"token": token}


@router.post(
    "/wallet/topups",
    status_code=201,
    response_model=TopUpResponse,
    tags=["wallet"],
    openapi_extra=raw_body(TopUpRequest),
)
async def create_topup(
    request: Request, state: StateDep, principal: PrincipalDep, key: IdempotencyKey
) -> JSONResponse:
    raw = await request.body()

    async def handle() -> tuple[int, dict[str, Any]]:
        body: TopUpRequest = parse(TopUpRequest, raw)
        coins = body.amount_cents * state.settings.money.coins_per_usd // 100
        if coins <= 0:
            raise Unprocessable(f"{body.amount_cents} cents buys no coins")
        topup_id = derived_id("api-topup", principal.user_id, key)
        await screen_topup(state, request, principal.user_id, topup_id, body)
        async with state.pool.connection() as conn:
            await conn.execute(
                SQL["record_topup"],
                {
                    "topup_id": topup_id,
                    "user_id": principal.user_id,
                    "amount_cents": body.amount_cents,
                    "currency": body.currency,
                    "coins": coins,
                    "instrument": body.payment_instrument_id,
                },
            )
        expires = datetime.now(UTC) + timedelta(seconds=state.settings.payments.topup_expiry_s)
        await state.ledger.topup_pending(topup_id, principal.user_id, coins, expires)
        await state.producer.send(
            TopUpPending(
                event_id=derived_id("topup-event", topup_id, "pending"),
                topup_id=topup_id,
                user_id=principal.user_id,
                amount_cents=body.amount_cents,
                currency=body.currency,
                coins=coins,
                payment_instrument_id=body.payment_instrument_id,
                device_id=body.device_id,
                ip=request.client.host if request.client else None,
                producer=PRODUCER,
            )
        )
        response = TopUpResponse(
            topup_id=topup_id,
            status="pending",
            amount_cents=body.amount_cents,
            currency=body.currency,
            coins=coins,
        )
        return 201, response.model_dump(mode="json")

    return respond(
        *await state.idempotency.run(principal.user_id, key, "POST /v1/wallet/topups", raw, handle)
    )


TOPUP_SUBJECTS = {
    "cents_per_instrument_hour": FraudSubject.PAYMENT_INSTRUMENT,
    "topups_per_device_hour": FraudSubject.DEVICE,
    "topups_per_ip_hour": FraudSubject.IP,
}


async def screen_topup(state: Any, request: Request, user: str, topup_id: Any, body: TopUpRequest) -> None:
    """Top-up velocity and chargeback-history rules: every hit is an alert; a block refuses."""
    ip = request.client.host if request.client else None
    facts = await state.counters.topup_facts(
        str(topup_id), user, body.payment_instrument_id, body.device_id, ip, body.amount_cents, time.time()
    )
    decision = evaluate_topup(facts, state.topup_rules)
    subjects = {
        FraudSubject.PAYMENT_INSTRUMENT: body.payment_instrument_id,
        FraudSubject.DEVICE: body.device_id or "-",
        FraudSubject.IP: ip or "-",
        FraudSubject.USER: user,
    }
    for hit in decision.hits:
        subject = TOPUP_SUBJECTS.get(hit.rule.name, FraudSubject.USER)
        await state.producer.send(
            FraudAlert(
                event_id=derived_id("fraud-alert", topup_id, hit.rule.name),
                rule=hit.rule.name,
                outcome=FraudOutcome(hit.rule.outcome),
                shadow=hit.rule.shadow,
                subject_type=subject,
                subject_id=subjects[subject],
                user_id=user,
                reference_id=str(topup_id),
                observed=hit.observed,
                threshold=hit.rule.threshold,
                window_s=hit.rule.window_s,
                producer=PRODUCER,
            )
        )
    if decision.outcome == "block":
        raise Forbidden("top-up refused by fraud rules: " + ", ".join(decision.decisive))


@router.post("/payments/webhook", tags=["payments"], openapi_extra=raw_body(WebhookEvent))
async def payment_webhook(
    request: Request,
    state: StateDep,
    signature: Annotated[str | None, Header(alias="Payments-Signature")] = None,
) -> dict[str, Any]:
    """Apply a provider event once per provider event id: claim the id, apply, publish, complete.
    The claim names the event's type and top-up before any money moves, so the same id sent as
    another type (a captured id re-sent as a refund) is refused, never applied, even while the
    first is still in flight. The ledger operation and the outcome event are idempotent (ids
    derived from the top-up), so a provider retry of a claimed but unfinished event (the publish
    timed out, the process died) redoes them harmlessly; only a completed one answers duplicate."""
    raw = await request.body()
    payments = state.settings.payments
    try:
        verify_webhook(
            payments.webhook_secret.get_secret_value(), signature, raw, payments.webhook_tolerance_s
        )
    except Unauthorized:
        await state.auth_limits.hit("failed", client_address(request))
        raise
    event: WebhookEvent = parse(WebhookEvent, raw)
    claim = {"id": event.id, "type": event.type, "topup_id": event.topup_id}
    async with state.pool.connection() as conn:
        row = await (await conn.execute(SQL["topup"], {"topup_id": event.topup_id})).fetchone()
        if row is None:
            raise NotFound(f"no top-up {event.topup_id}")
        claimed = await (await conn.execute(SQL["claim_webhook"], claim)).fetchone()
        seen = (
            None if claimed else await (await conn.execute(SQL["webhook_seen"], {"id": event.id})).fetchone()
        )
    if seen is not None:
        if (seen[0], seen[1]) != (event.type, event.topup_id):
            raise Unprocessable(
                f"webhook event {event.id} was received before as {seen[0]} of top-up {seen[1]}; "
                "an event id names one event",
                reason="webhook_id_reused",
            )
        if seen[2]:
            return {"received": True, "duplicate": True}
    outcome = await apply_webhook(state, event, row)
    await state.producer.send(outcome)
    async with state.pool.connection() as conn:
        await conn.execute(SQL["complete_webhook"], {"id": event.id})
    return {"received": True, "duplicate": False}


async def apply_webhook(
    state: AppState, event: WebhookEvent, row: Any
) -> TopUpCaptured | TopUpFailed | TopUpRefunded:
    """The ledger operation for a provider event, and the outcome event stamped with when the
    ledger recorded it (a retry publishes the very same event)."""
    _, user_id, amount_cents, currency, coins, _ = row
    ledger = state.ledger
    if event.type == "payment.captured":
        transfer = await ledger.topup_capture(event.topup_id)
        return TopUpCaptured(
            topup_id=event.topup_id,
            user_id=user_id,
            amount_cents=amount_cents,
            currency=currency,
            coins=coins,
            provider_ref=event.provider_ref,
            transfer_id=transfer.id,
            producer=PRODUCER,
            event_id=derived_id("topup-event", event.topup_id, "captured"),
            occurred_at=await ledger.recorded_at([transfer.id]),
        )
    if event.type == "payment.failed":
        void = await ledger.topup_void(event.topup_id)
        return TopUpFailed(
            topup_id=event.topup_id,
            user_id=user_id,
            reason=event.reason or "payment failed",
            producer=PRODUCER,
            event_id=derived_id("topup-event", event.topup_id, "failed"),
            occurred_at=await ledger.recorded_at([void.id]),
        )
    kind = ClawbackKind.REFUND if event.type == "charge.refunded" else ClawbackKind.CHARGEBACK
    taken, debt = await ledger.clawback(event.topup_id, kind.value)
    if kind is ClawbackKind.CHARGEBACK:
        await state.counters.record_chargeback(user_id, str(event.topup_id))
    return TopUpRefunded(
        topup_id=event.topup_id,
        user_id=user_id,
        kind=kind,
        amount_cents=amount_cents,
        currency=currency,
        coins_clawed_back=taken,
        debt_coins=debt,
        producer=PRODUCER,
        event_id=derived_id("topup-event", event.topup_id, kind.value),
        occurred_at=await ledger.recorded_at(
            [derived_id("clawback", event.topup_id, "wallet"), derived_id("clawback", event.topup_id, "debt")]
        ),
    )


@router.post(
    "/gifts", status_code=202, response_model=GiftAccepted, tags=["gifts"], openapi_extra=raw_body(GiftBody)
)
async def send_gift(
    request: Request, state: StateDep, principal: PrincipalDep, key: IdempotencyKey
) -> JSONResponse:
    """Request a gift (``streams.gifts.requests``); ``Idempotency-Key`` names it."""
    raw = await request.body()

    async def handle() -> tuple[int, dict[str, Any]]:
        body: GiftBody = parse(GiftBody, raw)
        order = GiftOrder(
            sender_id=principal.user_id,
            creator_id=body.creator_id,
            room_id=body.room_id,
            gift_sku=body.gift_sku,
            quantity=body.quantity,
            idempotency_key=key or "",
            ip=request.client.host if request.client else None,
        )
        event = await request_gift(order, state.rooms, state.producer, PRODUCER)
        accepted = GiftAccepted(gift_id=event.gift_id, status="requested", total_coins=event.total_coins)
        return 202, accepted.model_dump(mode="json")

    return respond(*await state.idempotency.run(principal.user_id, key, "POST /v1/gifts", raw, handle))


@router.get("/wallet/balance", response_model=Balance, tags=["wallet"])
async def balance(state: StateDep, principal: PrincipalDep, user_id: UserQuery = None) -> Balance:
    user = user_id or principal.user_id
    require_self_or(principal, user, Role.FINANCE, Role.ADMIN)
    wallet = await state.ledger.balance(account(AccountKind.USER_COINS, user))
    debt = await state.ledger.balance(account(AccountKind.USER_DEBT, user))
    return Balance(
        user_id=user,
        available=wallet.available,
        balance=wallet.balance,
        pending_in=wallet.credits_pending,
        pending_out=wallet.debits_pending,
        debt=-debt.balance,
    )


@router.get("/wallet/statement", response_model=Statement, tags=["wallet"])
async def statement(
    state: StateDep,
    principal: PrincipalDep,
    user_id: UserQuery = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Statement:
    user = user_id or principal.user_id
    require_self_or(principal, user, Role.FINANCE, Role.ADMIN)
    return await _statement(state, account(AccountKind.USER_COINS, user), cursor, limit)


async def _statement(state: StateDep, account_id: str, cursor: int, limit: int) -> Statement:
    lines = await state.ledger.statement(account_id, after_seq=cursor, limit=limit + 1)
    more = len(lines) > limit
    lines = lines[:limit]
    items = [
        StatementItem(
            seq=line.seq,
            transfer_id=line.transfer_id,
            kind=line.kind,
            direction="in" if line.credit_account == account_id else "out",
            amount=line.amount,
            counterparty=line.debit_account if line.credit_account == account_id else line.credit_account,
            reference_id=line.reference_id,
            at=line.created_at.isoformat(),
        )
        for line in lines
    ]
    return Statement(account=account_id, items=items, next_cursor=lines[-1].seq if more and lines else None)


@router.get("/creators/{creator_id}/earnings", response_model=Earnings, tags=["creators"])
async def earnings(creator_id: UserPath, state: StateDep, principal: PrincipalDep) -> Earnings:
    if principal.user_id != creator_id and not principal.has(Role.FINANCE, Role.ADMIN):
        raise Forbidden("a creator sees only their own earnings; finance and admin see all")
    totals = await state.ledger.balance(account(AccountKind.CREATOR_EARNINGS, creator_id))
    return Earnings(
        creator_id=creator_id,
        balance=totals.balance,
        credited=totals.credits_posted,
        debited=totals.debits_posted,
    )


def problem(status: int, title: str, detail: str, instance: str, reason: str | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance}
    if reason is not None:
        body["reason"] = reason
    return JSONResponse(
        body,
        status_code=status,
        media_type="application/problem+json",
    )
