"""Errors of the pipelines package."""

from __future__ import annotations

from streams.exceptions import PlatformError


class SinkError(PlatformError):
    """A sink could not write a batch; its offsets stay uncommitted and it is delivered again."""
