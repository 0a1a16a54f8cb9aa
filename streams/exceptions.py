"""The root of every error the platform raises on purpose.

Each subpackage derives its own errors from :class:`PlatformError`, so an edge (HTTP,
socket, Kafka consumer) can map "ours, with a clear message" apart from bugs.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class of the platform's deliberate errors."""


class Refused(PlatformError):
    """A use-case that declines a request: ``reason`` is a stable code for machines (the edge maps
    it to an HTTP status or puts it in a socket ack), ``detail`` the sentence for the user."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class PoisonRecord(PlatformError):
    """A record a consumer gives up on: it goes to the topic's dead-letter topic with ``kind``
    (a short machine-readable category) and ``reason`` (for a human), and the consumer goes on."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class ContractViolation(PoisonRecord):
    """Bytes or values that do not satisfy an event contract.

    ``kind`` is a short machine-readable category (``malformed_json``, ``unknown_event_type``,
    ``validation_error``, ``wrong_topic``); ``str(err)`` is the human-readable reason that
    goes to the dead-letter topic, the HTTP problem detail or the socket ack.
    """


class UnknownTopic(PlatformError):
    """An event type or topic name that the topic registry does not know."""


class ConfigurationError(PlatformError):
    """Settings that cannot work (a default secret in production, a bad URL)."""
