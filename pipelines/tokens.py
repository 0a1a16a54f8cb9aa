"""Insert deduplication tokens: the same events always give the same token.

The token names the rows by their event ids, not by where Kafka had them: after a topic is
recreated or offsets are reset, new events at old offsets are a new insert, while the same
events retried, in any order, are the same one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable


def dedup_token(table: str, event_ids: Iterable[uuid.UUID]) -> str:
    """A token from the target table and the set of event ids, independent of their order."""
    ids = sorted([event_id.bytes for event_id in event_ids])
    return hashlib.sha256(table.encode() + b"|" + b"".join(ids)).hexdigest()
