"""A socket event that meets a broker, database or cache outage is acknowledged as unavailable
(the client retries); anything else still raises."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.exceptions

from serving.gateway.server import acks_outages
from streams.bus.wire import DeliveryFailed


def failing(err: Exception) -> Any:
    @acks_outages
    async def chat(sid: str, data: Any) -> dict[str, Any]:
        raise err

    return chat


@pytest.mark.parametrize(
    "err",
    [DeliveryFailed("chat.submitted: Local: Message timed out"), redis.exceptions.ConnectionError("refused")],
)
def test_an_outage_is_acknowledged_with_a_reason(err: Exception) -> None:
    handler = failing(err)
    assert handler.__name__ == "chat"  # python-socketio registers the event by this name
    assert asyncio.run(handler("sid", {})) == {"ok": False, "reason": "unavailable", "retry_after_ms": 2000}


def test_a_bug_is_not_hidden_as_an_outage() -> None:
    with pytest.raises(KeyError):
        asyncio.run(failing(KeyError("room_id"))("sid", {}))
