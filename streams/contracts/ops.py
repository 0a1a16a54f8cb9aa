"""Operational alerts: Prometheus rules firing and resolving, as Alertmanager reported them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, NoNul, ShortText, UtcDatetime

LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
LabelValue = Annotated[str, StringConstraints(max_length=1024), NoNul]


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class OpsAlert(Event):
    """One alert's state change. The event id is derived from the alert's fingerprint, status
    and start, so Alertmanager repeating a notification is the same event."""

    event_type: Literal["ops.alert"] = "ops.alert"
    schema_version: Literal[1] = 1
    alertname: LabelName = Field(description="The Prometheus alert rule (ops/prometheus/alerts.yml).")
    status: AlertStatus = Field(description="firing, or resolved.")
    severity: Annotated[str, StringConstraints(max_length=32), NoNul] = Field(
        default="", description="page (someone is woken) or ticket (next working day)."
    )
    owner: Annotated[str, StringConstraints(max_length=64), NoNul] = Field(
        default="", description="The team the alert pages (its `owner` label)."
    )
    summary: ShortText = Field(default="", description="What is wrong, with the measured value.")
    labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict, max_length=64, description="Every label of the alert (group, topic, job, ...)."
    )
    starts_at: UtcDatetime = Field(description="When the rule started firing.")
    ends_at: UtcDatetime | None = Field(default=None, description="Set once resolved.")
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,32}$")] = Field(
        description="Alertmanager's id of the alert (its label set): firing and resolved share it."
    )
