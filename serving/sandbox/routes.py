"""The sandbox payment provider: the checkout page a viewer is sent to for a top-up, and the
provider's side of the payment, which calls the platform's webhook exactly as a real provider
would (signed with PAYMENTS_WEBHOOK_SECRET, over HTTP, to ``/v1/payments/webhook``).

Only where dev sign-in is on (a development machine): in production these routes do not exist
(404), and the secret never leaves the server. The page offers what a provider's test mode
offers: pay, a declined card, and later a refund or a lost chargeback.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from serving.api.state import StateDep
from serving.api.webhooks import sign
from serving.exceptions import NotFound
from serving.web.pages import page_headers

router = APIRouter(tags=["sandbox"])
HERE = Path(__file__).parent
OUTCOMES = {
    "pay": "payment.captured",
    "decline": "payment.failed",
    "refund": "charge.refunded",
    "chargeback": "charge.dispute.lost",
}
REASONS = {
    "decline": "card_declined (sandbox card 4000 0000 0000 0002)",
    "chargeback": "fraudulent (sandbox)",
}


def _enabled(state: Any) -> None:
    if not state.settings.auth.dev_tokens or state.settings.local.environment == "production":
        raise NotFound("the sandbox payment provider runs on development machines only")


@router.get("/sandbox/checkout/{topup_id}", response_class=HTMLResponse, include_in_schema=False)
async def checkout(topup_id: uuid.UUID, state: StateDep) -> HTMLResponse:
    """The provider's checkout page for one top-up (its amount comes from the platform)."""
    _enabled(state)
    return HTMLResponse((HERE / "checkout.html").read_text(), headers=page_headers(None))


@router.post("/sandbox/v1/charges/{topup_id}/{outcome}", include_in_schema=False)
async def charge(
    topup_id: uuid.UUID,
    outcome: Literal["pay", "decline", "refund", "chargeback"],
    state: StateDep,
    request: Request,
) -> dict[str, Any]:
    """The provider settles the charge and tells the platform, signed, at its webhook. The
    event id is one per top-up and outcome, so pressing twice is one event (a provider retry)."""
    _enabled(state)
    event = {
        "id": f"sbx_{outcome}_{topup_id.hex}",
        "type": OUTCOMES[outcome],
        "topup_id": str(topup_id),
        "provider_ref": f"sbx_ch_{topup_id.hex[:16]}",
        "reason": REASONS.get(outcome, ""),
    }
    body = json.dumps(event).encode()
    secret = state.settings.payments.webhook_secret.get_secret_value()
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://platform", timeout=15) as client:
        answer = await client.post(
            "/v1/payments/webhook",
            content=body,
            headers={"Content-Type": "application/json", "Payments-Signature": sign(secret, body)},
        )
    result: dict[str, Any] = {"event": event["type"], "webhook_status": answer.status_code}
    try:
        result["webhook"] = answer.json()
    except ValueError:
        result["webhook"] = answer.text[:500]
    return result
