"""Signed bearer tokens: ``base64url(claims).base64url(HMAC-SHA256(secret, claims))``.

Claims: ``sub`` (user id), ``roles``, ``iat``, ``exp``. Compact, stdlib only, constant-time
verification. The secret comes from the environment (``AUTH_TOKEN_SECRET``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from serving.exceptions import Unauthorized
from streams.contracts.base import Role
from streams.exceptions import PlatformError
from streams.settings import MIN_SECRET_CHARS


class WeakSecret(PlatformError):
    """A signing secret that is missing or too short: a configuration error, never a 401."""


def require_secret(secret: str, name: str) -> str:
    if len(secret) < MIN_SECRET_CHARS:
        raise WeakSecret(
            f"{name} must be set to {MIN_SECRET_CHARS}+ characters (`python -m ops secrets` writes"
            " development ones to .cache/local.env)"
        )
    return secret


def require_service_token(authorization: str | None, secret: str, name: str) -> None:
    """A platform service (the media tier, Alertmanager) calling an internal route presents a
    shared secret as its bearer token; compared in constant time. 401 naming the secret."""
    offered = (authorization or "").removeprefix("Bearer ").strip()
    if not secret or not hmac.compare_digest(offered.encode(), secret.encode()):
        raise Unauthorized(f"this route authenticates with {name}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[Role]
    expires_at: int = 0  # the token's exp (unix seconds): a socket it opened ends then

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


def issue(secret: str, user_id: str, roles: list[Role], ttl_s: int = 3600, now: float | None = None) -> str:
    require_secret(secret, "AUTH_TOKEN_SECRET")
    issued = int(now if now is not None else time.time())
    claims = {"sub": user_id, "roles": sorted(r.value for r in roles), "iat": issued, "exp": issued + ttl_s}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def verify(secret: str, token: str, now: float | None = None) -> Principal:
    require_secret(secret, "AUTH_TOKEN_SECRET")
    try:
        body, signature = token.split(".")
        expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            raise Unauthorized("token signature is not valid")
        claims = json.loads(_unb64(body))
        if int(claims["exp"]) < int(now if now is not None else time.time()):
            raise Unauthorized("token has expired")
        return Principal(str(claims["sub"]), frozenset(Role(r) for r in claims["roles"]), int(claims["exp"]))
    except Unauthorized:
        raise
    except (ValueError, KeyError, TypeError) as err:
        raise Unauthorized(f"token is malformed ({type(err).__name__})") from None
