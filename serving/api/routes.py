"""HTTP routes: wallet top-ups, the payment webhook, gifts, balances, statements, earnings.
Routes translate; the ledger and the contracts decide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.api.auth_limits import client_address
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
from streams.gifts.requests import GiftOrder, request_gift
from streams.ledger.model import AccountKind, account
from streams.wallet.topups import ProviderNotice, TopUpOrder, TopUpPorts, apply_notice, request_topup

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
        order = TopUpOrder(
            user_id=principal.user_id,
            amount_cents=body.amount_cents,
            currency=body.currency,
            payment_instrument_id=body.payment_instrument_id,
            idempotency_key=key or "",
            device_id=body.device_id,
            ip=request.client.host if request.client else None,
        )
        topup = await request_topup(
            order,
            topup_ports(state),
            state.topup_rules,
            coins_per_usd=state.settings.money.coins_per_usd,
            expiry_s=state.settings.payments.topup_expiry_s,
        )
        response = TopUpResponse(
            topup_id=topup.topup_id,
            status="pending",
            amount_cents=topup.amount_cents,
            currency=topup.currency,
            coins=topup.coins,
        )
        return 201, response.model_dump(mode="json")

    return respond(
        *await state.idempotency.run(principal.user_id, key, "POST /v1/wallet/topups", raw, handle)
    )


def topup_ports(state: AppState) -> TopUpPorts:
    return TopUpPorts(state.topups, state.ledger, state.counters, state.producer, PRODUCER)


@router.post("/payments/webhook", tags=["payments"], openapi_extra=raw_body(WebhookEvent))
async def payment_webhook(
    request: Request,
    state: StateDep,
    signature: Annotated[str | None, Header(alias="Payments-Signature")] = None,
) -> dict[str, Any]:
    """A payment provider's notice, once its signature checks out, applied once per notice id
    (``streams.wallet.topups.apply_notice``)."""
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
    notice = ProviderNotice(event.id, event.type, event.topup_id, event.provider_ref, event.reason)
    duplicate = await apply_notice(notice, topup_ports(state))
    return {"received": True, "duplicate": duplicate}


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
