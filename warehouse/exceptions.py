"""Errors of the warehouse package."""

from __future__ import annotations

from streams.exceptions import PlatformError


class WarehouseError(PlatformError):
    """ClickHouse setup, schema or query errors with a clear message."""


class UnknownQuery(WarehouseError):
    pass
