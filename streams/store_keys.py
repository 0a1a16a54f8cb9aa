"""Building store keys (Redis) from ids, framework-free so domain modules may use it."""

from __future__ import annotations


def key_part(value: str) -> str:
    """An id as one segment of a Redis key, with ``%`` and ``:`` escaped: whatever an id holds,
    ``room:{a}:ban:{b}`` can never be spelled by another pair (ids are also validated without
    ``:``; this holds for any that came in some other way)."""
    return value.replace("%", "%25").replace(":", "%3A")
