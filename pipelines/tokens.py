"""Insert deduplication tokens: the same source records always give the same token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def dedup_token(group: str, table: str, positions: Iterable[tuple[str, int, int]]) -> str:
    """A token from the consumer group, the target table and the (topic, partition, offset)
    span of every partition in the batch, independent of record order."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for topic, partition, offset in positions:
        lo, hi = spans.get((topic, partition), (offset, offset))
        spans[(topic, partition)] = (min(lo, offset), max(hi, offset))
    text = f"{group}|{table}|" + "|".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(spans.items()))
    return hashlib.sha256(text.encode()).hexdigest()
