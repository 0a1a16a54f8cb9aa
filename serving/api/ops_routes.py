"""The alert receiver: Alertmanager's webhook, turned into ``ops.alert`` events on Kafka (so ops
and trust-and-safety alerts land in ClickHouse, and the console, like every other event).

``POST /internal/v1/alerts`` takes Alertmanager's webhook payload (version 4), authenticated
with ``OBSERVE_WEBHOOK_TOKEN`` as the bearer token. Each alert in it becomes one event whose id
comes from the alert's fingerprint, status and start: Alertmanager repeating a notification
(it does, until the alert resolves) publishes the same event again, which the warehouse keeps
once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.api.openapi import raw_body
from serving.api.routes import parse
from serving.api.state import StateDep
from serving.auth.tokens import require_service_token
from serving.exceptions import Unprocessable
from streams.contracts.codec import describe
from streams.contracts.ops import AlertStatus, OpsAlert
from streams.ids import derived_id

router = APIRouter(tags=["internal"])
PRODUCER = "alert-receiver"
# Alertmanager's "not ended yet".
NEVER = datetime(1, 1, 1, tzinfo=UTC)


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815  (Alertmanager's names)
    endsAt: datetime | None = None  # noqa: N815
    fingerprint: str


class AlertmanagerPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


def to_event(alert: AlertmanagerAlert) -> OpsAlert:
    ends = alert.endsAt if alert.endsAt is not None and alert.endsAt > NEVER else None
    resolved = alert.status is AlertStatus.RESOLVED
    return OpsAlert(
        event_id=derived_id("ops-alert", alert.fingerprint, alert.status.value, alert.startsAt.isoformat()),
        # Deterministic: a repeated notification is the same row.
        occurred_at=(ends or alert.startsAt) if resolved else alert.startsAt,
        producer=PRODUCER,
        alertname=alert.labels.get("alertname", "unnamed"),
        status=alert.status,
        severity=alert.labels.get("severity", ""),
        owner=alert.labels.get("owner", ""),
        summary=alert.annotations.get("summary", "")[:500],
        labels=alert.labels,
        starts_at=alert.startsAt,
        ends_at=ends if resolved else None,
        fingerprint=alert.fingerprint,
    )


@router.post("/internal/v1/alerts", openapi_extra=raw_body(AlertmanagerPayload))
async def receive_alerts(
    request: Request, state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, int]:
    require_service_token(
        authorization, state.settings.observe.webhook_token.get_secret_value(), "OBSERVE_WEBHOOK_TOKEN"
    )
    payload: AlertmanagerPayload = parse(AlertmanagerPayload, await request.body())
    try:
        alerts = [to_event(alert) for alert in payload.alerts]
    except ValidationError as err:  # labels that are no contract's (a name with a dash, say)
        raise Unprocessable(f"alert refused: {describe(err)}") from None
    await asyncio.gather(*(state.producer.send(alert) for alert in alerts))
    return {"published": len(alerts)}
