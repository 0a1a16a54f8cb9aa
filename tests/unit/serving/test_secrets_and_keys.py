"""Signing never happens with a weak key, and no id can spell another id's store key."""

from __future__ import annotations

import pytest

from serving.api.webhooks import sign, verify
from serving.auth.tokens import WeakSecret, issue
from serving.auth.tokens import verify as verify_token
from streams.contracts.base import Role
from streams.rooms.directory import ban_key, room_key
from streams.rooms.history import history_key

STRONG = "s" * 32


@pytest.mark.parametrize("secret", ["", "short"])
def test_tokens_are_never_signed_or_checked_with_a_weak_secret(secret: str) -> None:
    with pytest.raises(WeakSecret, match="AUTH_TOKEN_SECRET"):
        issue(secret, "u1", [Role.ADMIN])
    token = issue(STRONG, "u1", [Role.VIEWER])
    with pytest.raises(WeakSecret):
        verify_token(secret, token)
    assert verify_token(STRONG, token).user_id == "u1"


def test_an_empty_webhook_secret_verifies_nothing() -> None:
    body = b'{"id": "evt-1"}'
    with pytest.raises(WeakSecret, match="PAYMENTS_WEBHOOK_SECRET"):
        verify("", sign("", body), body, tolerance_s=300)


def test_no_room_or_user_id_spells_another_ones_keys() -> None:
    rooms = ["a", "a:ban:b", "a:mods", "a:history", "a%3Aban%3Ab", "a%"]
    users = ["b", "b:ban:c", "c", "%3A"]
    keys = (
        [room_key(r) for r in rooms]
        + [room_key(r) + ":mods" for r in rooms]
        + [history_key(r) for r in rooms]
        + [ban_key(r, u) for r in rooms for u in users]
    )
    assert len(keys) == len(set(keys))
