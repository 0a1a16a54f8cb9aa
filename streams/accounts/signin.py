"""Signing up and signing in: the use-cases behind ``/v1/auth/signup`` and ``/v1/auth/signin``.

A new account is a viewer or a creator (finance, analysts and admins are made by an operator);
the password must pass :func:`password_problem`. Signing in answers the same refusal for an
unknown user and a wrong password, after the same work, so neither says which names exist.
Argon2 runs on a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from streams.accounts.passwords import Passwords, password_problem
from streams.contracts.base import Role
from streams.exceptions import Refused

SIGN_UP_ROLES = frozenset({Role.VIEWER, Role.CREATOR})


class AccountRefused(Refused):
    """``reason``: username_taken, weak_password, role_not_offered, wrong_credentials."""


@dataclass(frozen=True)
class Account:
    user_id: str
    password_hash: str
    roles: list[Role]


class AccountStore(Protocol):
    async def create(self, user_id: str, password_hash: str, roles: list[Role]) -> bool: ...

    async def get(self, user_id: str) -> Account | None: ...

    async def rehash(self, user_id: str, password_hash: str) -> None: ...


async def sign_up(
    store: AccountStore, passwords: Passwords, user_id: str, password: str, role: Role
) -> Account:
    if role not in SIGN_UP_ROLES:
        raise AccountRefused("role_not_offered", "accounts are made as a viewer or a creator")
    problem = password_problem(password, user_id)
    if problem is not None:
        raise AccountRefused("weak_password", problem)
    hashed = await asyncio.to_thread(passwords.hash, password)
    if not await store.create(user_id, hashed, [role]):
        raise AccountRefused("username_taken", f"the username {user_id!r} is taken")
    return Account(user_id, hashed, [role])


async def sign_in(store: AccountStore, passwords: Passwords, user_id: str, password: str) -> Account:
    account = await store.get(user_id)
    if account is None:
        await asyncio.to_thread(passwords.verify_nothing, password)
        raise AccountRefused("wrong_credentials", "wrong username or password")
    if not await asyncio.to_thread(passwords.verify, account.password_hash, password):
        raise AccountRefused("wrong_credentials", "wrong username or password")
    if passwords.needs_rehash(account.password_hash):
        await store.rehash(user_id, await asyncio.to_thread(passwords.hash, password))
    return account
