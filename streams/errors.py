"""Error tracking with Sentry, in every deployable, off unless ``OBSERVE_SENTRY_DSN`` is set.

An unhandled error is reported with the ids bound to the log context where it happened
(``request_id``, ``event_id``, ``trace_id``, the topic and the socket event), so the report
and the log lines of the same request or event find each other.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
import structlog

from streams.settings import Settings

CONTEXT_TAGS = ("request_id", "event_id", "trace_id", "topic", "socket_event", "agent")


def tag_with_context(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry's ``before_send``: the ids of the request or event being handled, as tags."""
    bound = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for name in CONTEXT_TAGS:
        if name in bound and name not in tags:
            tags[name] = str(bound[name])
    return event


def init_error_tracking(settings: Settings, deployable: str) -> bool:
    """Start Sentry for this process if a DSN is configured; whether it did."""
    dsn = settings.observe.sentry_dsn.get_secret_value()
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.local.environment,
        server_name=deployable,
        before_send=tag_with_context,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
    )
    sentry_sdk.set_tag("deployable", deployable)
    return True
