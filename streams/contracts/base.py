"""The envelope every event shares, and the field types the contracts reuse.

Rules (ARCHITECTURE.md, Contracts): ``event_id`` is the idempotency key, minted once at the
edge; ``occurred_at`` is timezone-aware UTC; unknown fields and wrong types are refused.
Adding an optional field is compatible; anything else is a new ``schema_version``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC. Naive datetimes are refused."""

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
"""User, room, stream, creator and account ids: short, printable, no spaces."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NAME_PATTERN)]
"""Room, user and stream ids. They name keys in the stores (``room:{r}:ban:{u}``), so unlike
other identifiers they have no ``:``: one tenant's id can never spell another's key."""

RoomId = Name
UserId = Name
Coins = Annotated[int, Field(ge=0, le=10**12)]
"""A non-negative amount of virtual coins (integers only: money is never a float)."""
Cents = Annotated[int, Field(ge=0, le=10**12)]
"""A non-negative amount of a fiat currency's minor unit."""
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 alphabetic code."""


def _storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_storable_text)
"""Free text any store can hold: no NUL character (PostgreSQL text cannot, no client means one;
pydantic already refuses lone surrogates)."""
ShortText = Annotated[str, StringConstraints(max_length=500), NoNul]


class Role(StrEnum):
    VIEWER = "viewer"
    CREATOR = "creator"
    MODERATOR = "moderator"
    ANALYST = "analyst"
    FINANCE = "finance"
    ADMIN = "admin"


ENVELOPE_REQUIRED_ON_WIRE = ("event_id", "event_type", "schema_version", "occurred_at")
"""Defaulted when the edge mints an event, never when a record is decoded: a consumer must not
mint a new event_id for a record that lost its own (that would defeat idempotency)."""


class Event(BaseModel):
    """Base of every contract. Subclasses set ``event_type`` as a ``Literal`` with a default."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        str_strip_whitespace=False,
        validate_default=True,
        use_enum_values=False,
        ser_json_timedelta="float",
    )

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Idempotency key, minted once at the edge."
    )
    event_type: str
    schema_version: int
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    producer: Identifier = Field(description="The service or node that minted the event.")

    # Set on each concrete class; used by the catalog and the topic registry.
    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("event_type")
        if field is not None and isinstance(field.default, str) and field.default:
            cls.EVENT_TYPE = field.default
        version = cls.model_fields["schema_version"].default
        if isinstance(version, int):
            cls.SCHEMA_VERSION = version
