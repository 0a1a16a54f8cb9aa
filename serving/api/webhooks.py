"""Payment provider webhook signatures: ``Payments-Signature: t=<unix seconds>,v1=<hex>``,
HMAC-SHA256 over ``"<t>." + body`` with the shared secret; stale timestamps are refused."""

from __future__ import annotations

import hashlib
import hmac
import time

from serving.auth.tokens import require_secret
from serving.exceptions import ApiProblem, Unauthorized


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(timestamp if timestamp is not None else time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, tolerance_s: int, now: float | None = None) -> None:
    require_secret(secret, "PAYMENTS_WEBHOOK_SECRET")  # an empty key would verify anyone's signature
    if not header:
        raise Unauthorized("missing Payments-Signature header")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        raise ApiProblem("Payments-Signature must look like t=<unix seconds>,v1=<hex digest>") from None
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        raise ApiProblem(
            f"webhook timestamp is more than {tolerance_s}s away from now; refusing a possible replay"
        )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("webhook signature does not match")
