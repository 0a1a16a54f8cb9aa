"""Bytes on the wire <-> contract models, with one clear reason when they do not match."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, TypeVar, Union

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from streams.contracts.base import ENVELOPE_REQUIRED_ON_WIRE, Event
from streams.exceptions import ContractViolation

CONTENT_TYPE = "application/json"
_ENVELOPE = frozenset(ENVELOPE_REQUIRED_ON_WIRE)
MAX_REASON_CHARS = 1000


M = TypeVar("M", bound=BaseModel)


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def from_json_values(model: type[M], /, **fields: Any) -> M:
    """Validate values a client sent as JSON by JSON's rules (an enum by its value, no number
    from a string), raising ValidationError with the field named. An integer too large for
    64 bits reaches the model's range check (a clear error) instead of failing the encoder."""
    try:
        raw = orjson.dumps(fields)
    except orjson.JSONEncodeError:
        raw = json.dumps(fields, default=str).encode()
    return model.model_validate_json(raw)


@lru_cache(maxsize=256)
def _adapter(models: tuple[type[Event], ...]) -> TypeAdapter[Any]:
    if len(models) == 1:
        return TypeAdapter(models[0])
    union = Union[models]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="event_type")])


def decode(raw: bytes | None, models: Sequence[type[Event]]) -> Event:
    """Decode ``raw`` as exactly one of ``models`` or raise :class:`ContractViolation`."""
    if raw is None:
        raise ContractViolation("empty_record", "record has no value (tombstone or null payload)")
    allowed = models if isinstance(models, tuple) else tuple(models)
    try:
        event: Event = _adapter(allowed).validate_json(raw)
    except ValidationError as err:
        raise _violation(err, allowed) from None
    if not event.__pydantic_fields_set__ >= _ENVELOPE:
        missing = [name for name in ENVELOPE_REQUIRED_ON_WIRE if name not in event.__pydantic_fields_set__]
        raise ContractViolation("validation_error", f"{', '.join(missing)}: Field required on the wire")
    return event


def _violation(err: ValidationError, models: tuple[type[Event], ...]) -> ContractViolation:
    errors = err.errors(include_url=False, include_context=False)
    types = {e["type"] for e in errors}
    expected = ", ".join(m.EVENT_TYPE for m in models)
    if "json_invalid" in types or "json_type" in types:
        return ContractViolation("malformed_json", f"not a JSON object: {errors[0]['msg']}")
    if "union_tag_invalid" in types:
        return ContractViolation(
            "unknown_event_type",
            f"event_type {_tag(errors)!r} does not belong here; expected one of: {expected}",
        )
    if "union_tag_not_found" in types:
        return ContractViolation("missing_event_type", f"event_type is missing; expected one of: {expected}")
    if len(models) == 1 and any(e["loc"] == ("event_type",) and e["type"] == "literal_error" for e in errors):
        return ContractViolation(
            "unknown_event_type",
            f"event_type {_tag(errors)!r} does not belong here; expected {expected}",
        )
    return ContractViolation("validation_error", describe(err, models))


def _tag(errors: list[Any]) -> str:
    for e in errors:
        if e["type"] == "union_tag_invalid":
            return str(e.get("input", {}).get("event_type", "?")) if isinstance(e.get("input"), dict) else "?"
        if e["loc"] == ("event_type",):
            return str(e.get("input"))
    return "?"


def describe(err: ValidationError, models: Sequence[type[Event]] = ()) -> str:
    """``field.path: message`` for each problem, joined, short enough for a header or an ack."""
    names = {m.EVENT_TYPE for m in models}
    parts = []
    for e in err.errors(include_url=False, include_context=False):
        loc = [str(p) for p in e["loc"] if str(p) not in names]
        where = ".".join(loc) or "record"
        parts.append(f"{where}: {e['msg']}")
    text = "; ".join(parts)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"
