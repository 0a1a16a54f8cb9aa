"""A deployable's telemetry, set up once at its start: error tracking (Sentry, when a DSN is
set), tracing (span export over OTLP when an endpoint is set) and metrics.

``OBSERVE_TELEMETRY=false`` turns metrics and tracing off in the process, so a benchmark can
measure what they cost against the same work with them on (``make bench-ledger``,
``make bench-fanout``). Error tracking and logs stay.
"""

from __future__ import annotations

import os

import structlog
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from streams import tracing
from streams.errors import init_error_tracking
from streams.metrics import stop_recording
from streams.settings import Settings

log = structlog.get_logger(__name__)

# The OpenTelemetry SDK reads the endpoint from these (the standard variables).
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def init_telemetry(settings: Settings, deployable: str) -> None:
    init_error_tracking(settings, deployable)
    enabled = settings.observe.telemetry
    export = enabled and any(os.environ.get(name) for name in OTLP_ENDPOINT_VARIABLES)
    tracing.configure(
        deployable,
        enabled=enabled,
        exporter=OTLPSpanExporter() if export else None,
        sample_ratio=settings.observe.trace_sample_ratio,
    )
    if not enabled:
        stop_recording()
    log.info(
        "telemetry",
        deployable=deployable,
        metrics=enabled,
        tracing=enabled,
        span_export=export,
        trace_sample_ratio=settings.observe.trace_sample_ratio,
    )
