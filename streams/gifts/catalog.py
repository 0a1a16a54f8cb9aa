"""The gift catalog: what can be sent and what it costs, in coins. Configuration, not code paths."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DEFAULT_CATALOG: Mapping[str, int] = MappingProxyType(
    {"rose": 10, "heart": 25, "star": 100, "rocket": 500, "castle": 5000}
)


def price_of(sku: str, catalog: Mapping[str, int] = DEFAULT_CATALOG) -> int | None:
    return catalog.get(sku)
