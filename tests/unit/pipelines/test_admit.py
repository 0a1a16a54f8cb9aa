"""The warehouse takes ledger postings only from the ledger's outbox relay; other tables take any
producer's events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pipelines.warehouse.sink import admit
from streams.contracts.chat import ChatMessageAccepted
from streams.contracts.ledger import LEDGER_OUTBOX, LedgerPosted
from streams.ledger.relay import to_event
from streams.topics import TOPICS
from tests.samples import sample

LEDGER = TOPICS.for_event(LedgerPosted)


def test_a_posting_from_another_producer_is_refused_with_who_may_write_it() -> None:
    refused = admit(LEDGER, sample(LedgerPosted, producer="bench-sink-1"))
    assert refused is not None
    assert refused.kind == "untrusted_producer"
    assert str(refused) == (
        f"ledger.posted from producer 'bench-sink-1' on {LEDGER.name}: "
        f"ledger_postings takes it only from {LEDGER_OUTBOX}"
    )


def test_what_the_relay_publishes_is_taken() -> None:
    now = datetime.now(UTC)
    row = (
        1,
        uuid.uuid4(),
        uuid.uuid4(),
        "gift",
        "posted",
        "COINS",
        5,
        "user_coins:u1",
        "creator_earnings:c1",
        "g1",
        None,
        now,
    )
    assert admit(LEDGER, to_event(row)) is None


def test_tables_without_a_producer_rule_take_any_producer() -> None:
    chat = sample(ChatMessageAccepted, producer="anyone")
    assert admit(TOPICS.for_event(ChatMessageAccepted), chat) is None
