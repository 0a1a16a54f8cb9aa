"""Fraud alerts: every rule hit, enforced or in shadow mode."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, Identifier, NoNul, ShortText


class FraudOutcome(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


class FraudSubject(StrEnum):
    USER = "user"
    PAYMENT_INSTRUMENT = "payment_instrument"
    DEVICE = "device"
    IP = "ip"
    SENDER_CREATOR_PAIR = "sender_creator_pair"


class FraudAlert(Event):
    event_type: Literal["fraud.alert"] = "fraud.alert"
    schema_version: Literal[1] = 1
    rule: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    outcome: FraudOutcome
    shadow: bool = Field(description="Shadow-mode rule: logged, not enforced.")
    subject_type: FraudSubject
    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=160), NoNul]
    user_id: Identifier
    reference_id: Annotated[str, StringConstraints(max_length=128), NoNul] = Field(
        description="The gift or top-up that tripped the rule."
    )
    observed: int = Field(description="The measured value (count, coins, cents, share in basis points).")
    threshold: int
    window_s: int | None = Field(default=None, ge=1)
    detail: ShortText = ""
