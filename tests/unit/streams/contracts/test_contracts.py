"""Every event contract: round trips, refuses what is wrong with a message naming the field."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from streams.contracts.base import Event
from streams.contracts.catalog import EVENT_MODELS, EVENTS_BY_TYPE
from streams.contracts.chat import ChatMessageSubmitted
from streams.contracts.codec import decode, encode
from streams.contracts.gifts import GiftRequested, GiftSettled
from streams.contracts.qos import PlaybackBeacon
from streams.contracts.reactions import ReactionBurst
from streams.contracts.wallet import TopUpPending
from streams.exceptions import ContractViolation
from tests.samples import ALL_SAMPLES, SAMPLE_FIELDS, sample


def test_every_contract_has_a_sample_and_a_unique_type() -> None:
    assert set(SAMPLE_FIELDS) == set(EVENTS_BY_TYPE)
    assert len(EVENTS_BY_TYPE) == len(EVENT_MODELS)


@pytest.mark.parametrize("event", ALL_SAMPLES, ids=lambda e: e.event_type)
def test_encode_decode_round_trip_is_lossless(event: Event) -> None:
    raw = encode(event)
    back = decode(raw, [type(event)])
    assert back == event
    assert encode(back) == raw


@pytest.mark.parametrize("event", ALL_SAMPLES, ids=lambda e: e.event_type)
def test_envelope_is_present_and_utc(event: Event) -> None:
    assert isinstance(event.event_id, uuid.UUID)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.schema_version >= 1
    assert event.event_type == type(event).EVENT_TYPE


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.EVENT_TYPE)
def test_unknown_fields_are_refused_with_the_field_name(model: type[Event]) -> None:
    payload = json.loads(encode(sample(model)))
    payload["surprise"] = 1
    with pytest.raises(ContractViolation) as err:
        decode(json.dumps(payload).encode(), [model])
    assert err.value.kind == "validation_error"
    assert "surprise" in err.value.reason


def test_wrong_type_names_the_field_and_does_not_coerce() -> None:
    payload = json.loads(encode(sample(GiftRequested)))
    payload["quantity"] = "3"  # a string where an integer belongs: no silent coercion
    with pytest.raises(ContractViolation) as err:
        decode(json.dumps(payload).encode(), [GiftRequested])
    assert "quantity" in err.value.reason
    assert "integer" in err.value.reason


def test_money_is_never_a_float() -> None:
    payload = json.loads(encode(sample(TopUpPending)))
    payload["amount_cents"] = 4.99
    with pytest.raises(ContractViolation, match="amount_cents"):
        decode(json.dumps(payload).encode(), [TopUpPending])


def test_naive_datetimes_are_refused_and_others_normalised_to_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        sample(ChatMessageSubmitted, occurred_at=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001
    paris = timezone(timedelta(hours=1))
    event = sample(ChatMessageSubmitted, occurred_at=datetime(2026, 1, 1, 13, 0, tzinfo=paris))
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.occurred_at.hour == 12


def test_chat_over_500_characters_is_refused() -> None:
    sample(ChatMessageSubmitted, text="x" * 500)
    with pytest.raises(ValidationError, match="at most 500 characters"):
        sample(ChatMessageSubmitted, text="x" * 501)


def test_a_record_without_its_event_id_is_refused_not_given_a_new_one() -> None:
    payload = json.loads(encode(sample(ChatMessageSubmitted)))
    del payload["event_id"]
    with pytest.raises(ContractViolation, match="event_id"):
        decode(json.dumps(payload).encode(), [ChatMessageSubmitted])


def test_events_are_immutable() -> None:
    event = sample(ChatMessageSubmitted)
    with pytest.raises(ValidationError):
        event.text = "edited"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"{not json", "malformed_json"),
        (None, "empty_record"),
        (b'{"event_type": "chat.message.accepted"}', "unknown_event_type"),
    ],
)
def test_bad_bytes_get_a_category_and_a_reason(raw: bytes | None, kind: str) -> None:
    with pytest.raises(ContractViolation) as err:
        decode(raw, [ChatMessageSubmitted])
    assert err.value.kind == kind
    assert err.value.reason


def test_a_multi_event_topic_decodes_by_event_type() -> None:
    settled = sample(GiftSettled)
    assert decode(encode(settled), [GiftRequested, GiftSettled]) == settled
    with pytest.raises(ContractViolation) as err:
        decode(b'{"event_type": "gift.refunded"}', [GiftRequested, GiftSettled])
    assert err.value.kind == "unknown_event_type"
    assert "gift.refunded" in err.value.reason


def test_invariants_across_fields() -> None:
    with pytest.raises(ValidationError, match="total_coins"):
        sample(GiftRequested, total_coins=31)
    with pytest.raises(ValidationError, match="creator_share_coins"):
        sample(GiftSettled, platform_fee_coins=10)
    with pytest.raises(ValidationError, match="startup_ms"):
        sample(PlaybackBeacon, startup_ms=None)
    t0 = SAMPLE_FIELDS["reaction.burst"]["window_start"]
    with pytest.raises(ValidationError, match="window_end"):
        sample(ReactionBurst, window_end=t0 - timedelta(seconds=1))
