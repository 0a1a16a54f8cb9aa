"""Deterministic ids: every id the platform mints from what caused it (a transfer from its gift,
an event from its transfer, a gift from its sender and idempotency key), so a replay or a retry
produces the same id and is recognised as the same thing."""

from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("6f1c1f4e-3b7a-4b43-9d55-0c2f3b6f9a10")


def derived_id(*parts: object) -> uuid.UUID:
    """A deterministic transfer id for what caused it: a replay gets the same id (UUIDv5)."""
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def derived_ids(cause: str, key: uuid.UUID, count: int) -> list[uuid.UUID]:
    """``count`` deterministic ids for one cause in a single hash (the hot path of settlement):
    a BLAKE2b digest of the namespace, the cause and the key, cut into version-5-style UUIDs."""
    digest = hashlib.blake2b(NAMESPACE.bytes + cause.encode() + key.bytes, digest_size=16 * count).digest()
    return [uuid.UUID(bytes=digest[16 * i : 16 * (i + 1)], version=5) for i in range(count)]
