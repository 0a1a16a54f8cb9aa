"""Accounts: sign up and sign in with a username and a password, for the platform's own tokens.

Signing out is the client forgetting its token (tokens are signed, not stored; they expire
after AUTH_TOKEN_TTL_S). A failed sign-in counts as a failed authentication from that address
(429 with Retry-After beyond AUTH_FAILED_AUTH_PER_MINUTE).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from serving.api.auth_limits import client_address
from serving.api.state import StateDep
from serving.auth.tokens import issue
from streams.accounts.signin import AccountRefused, sign_in, sign_up
from streams.contracts.base import Role, UserId

router = APIRouter(prefix="/v1/auth", tags=["auth"])
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: UserId
    password: Password
    role: Literal["viewer", "creator"] = Field(default="viewer", description="What the account is for.")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: UserId
    password: Password


class Session(BaseModel):
    user_id: str
    roles: list[Role]
    token: str
    expires_in: int


def session_for(state: Any, user_id: str, roles: list[Role]) -> Session:
    ttl = state.settings.auth.token_ttl_s
    token = issue(state.settings.auth.token_secret.get_secret_value(), user_id, roles, ttl)
    return Session(user_id=user_id, roles=roles, token=token, expires_in=ttl)


@router.post("/signup", status_code=201, response_model=Session)
async def signup(body: SignUp, state: StateDep) -> Session:
    """A new viewer or creator account, signed in. 409 if the username is taken, 422 naming
    what is wrong with a weak password."""
    account = await sign_up(state.accounts, state.passwords, body.username, body.password, Role(body.role))
    return session_for(state, account.user_id, account.roles)


@router.post("/signin", response_model=Session)
async def signin(body: SignIn, state: StateDep, request: Request) -> Session:
    """401 "wrong username or password" for either mistake (never which one)."""
    try:
        account = await sign_in(state.accounts, state.passwords, body.username, body.password)
    except AccountRefused:
        await state.auth_limits.hit("failed", client_address(request))
        raise
    return session_for(state, account.user_id, account.roles)
