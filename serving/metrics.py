"""Metrics of the edge: HTTP requests per route and socket events per event, with outcome and
latency, and the gateway's connected sockets and rooms (served by ``streams.metrics``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from streams.contracts.qos import PlaybackBeacon

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "http_request_seconds", "Time to answer an HTTP request", ["method", "route"], buckets=LATENCY_BUCKETS
)
SOCKET_EVENTS = Counter(
    "socket_events_total",
    "Socket.IO client events acknowledged, by outcome (ok or the refusal)",
    ["event", "outcome"],
)
SOCKET_SECONDS = Histogram(
    "socket_event_seconds", "Time to acknowledge a client event", ["event"], buckets=LATENCY_BUCKETS
)
SOCKETS_CONNECTED = Gauge("socket_connections", "Sockets connected to this gateway node")
SOCKET_ROOMS = Gauge("socket_rooms", "Rooms (chat rooms and per-user rooms) with a socket on this node")

# QoE from the players' beacons, per live stream (a handful at a time): the alert rules compute
# startup p95 and the rebuffer ratio (stalled / (stalled + playing)) from these.
QOE_STARTUP_SECONDS = Histogram(
    "qoe_startup_seconds",
    "Request to first frame, per playback start",
    ["stream"],
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
QOE_STALLED_SECONDS = Counter("qoe_stalled_seconds_total", "Time players spent stalled", ["stream"])
QOE_PLAYING_SECONDS = Counter("qoe_playing_seconds_total", "Time players spent playing", ["stream"])


def observe_beacons(beacons: Iterable[PlaybackBeacon]) -> None:
    for beacon in beacons:
        if beacon.startup_ms is not None:
            QOE_STARTUP_SECONDS.labels(beacon.cid).observe(beacon.startup_ms / 1000)
        if beacon.stall_ms:
            QOE_STALLED_SECONDS.labels(beacon.cid).inc(beacon.stall_ms / 1000)
        if beacon.play_ms:
            QOE_PLAYING_SECONDS.labels(beacon.cid).inc(beacon.play_ms / 1000)


def route_of(scope: Mapping[str, Any]) -> str:
    """The route template a request matched (``/v1/rooms/{room_id}``), never the raw path: a
    label per distinct URL would grow without bound."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
