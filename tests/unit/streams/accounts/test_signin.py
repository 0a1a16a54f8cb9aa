from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from streams.accounts.passwords import Passwords, password_problem
from streams.accounts.signin import Account, AccountRefused, sign_in, sign_up
from streams.contracts.base import Role

# Cheap parameters for unit tests only; the platform uses the library's defaults.
FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


class Accounts:
    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}

    async def create(self, user_id: str, password_hash: str, roles: list[Role]) -> bool:
        if user_id in self.rows:
            return False
        self.rows[user_id] = Account(user_id, password_hash, roles)
        return True

    async def get(self, user_id: str) -> Account | None:
        return self.rows.get(user_id)

    async def rehash(self, user_id: str, password_hash: str) -> None:
        self.rows[user_id] = Account(user_id, password_hash, self.rows[user_id].roles)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 10 characters"),
        ("aaaaabbbbbaaaa", "at least 4 different characters"),
        ("Password123", "most common"),
        ("mayas-secret-9", "may not contain the username"),
        ("x" * 129, "at most 128"),
        ("correct horse battery", None),
    ],
)
def test_weak_passwords_are_named(password: str, problem: str | None) -> None:
    found = password_problem(password, "Maya")
    assert (found is None) if problem is None else (problem in str(found))


async def test_a_new_account_signs_in_and_a_second_one_with_its_name_is_refused() -> None:
    store = Accounts()
    made = await sign_up(store, FAST, "maya", "correct horse battery", Role.CREATOR)
    assert made.roles == [Role.CREATOR]
    assert "correct horse" not in store.rows["maya"].password_hash  # stored hashed
    assert (await sign_in(store, FAST, "maya", "correct horse battery")).roles == [Role.CREATOR]
    with pytest.raises(AccountRefused) as taken:
        await sign_up(store, FAST, "maya", "another good phrase", Role.VIEWER)
    assert (taken.value.reason, taken.value.detail) == ("username_taken", "the username 'maya' is taken")


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer() -> None:
    store = Accounts()
    await sign_up(store, FAST, "maya", "correct horse battery", Role.VIEWER)
    answers = []
    for user, password in (("maya", "wrong horse battery"), ("nobody", "correct horse battery")):
        with pytest.raises(AccountRefused) as refused:
            await sign_in(store, FAST, user, password)
        answers.append((refused.value.reason, refused.value.detail))
    assert answers == [("wrong_credentials", "wrong username or password")] * 2


async def test_only_viewers_and_creators_sign_up_and_weak_passwords_are_refused() -> None:
    store = Accounts()
    with pytest.raises(AccountRefused) as role:
        await sign_up(store, FAST, "eve", "correct horse battery", Role.ADMIN)
    assert role.value.reason == "role_not_offered"
    with pytest.raises(AccountRefused) as weak:
        await sign_up(store, FAST, "eve", "1234567890", Role.VIEWER)
    assert weak.value.reason == "weak_password"
    assert store.rows == {}


async def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in() -> None:
    store = Accounts()
    await sign_up(store, FAST, "maya", "correct horse battery", Role.VIEWER)
    old = store.rows["maya"].password_hash
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    await sign_in(store, stronger, "maya", "correct horse battery")
    assert store.rows["maya"].password_hash != old
    assert "t=2" in store.rows["maya"].password_hash
