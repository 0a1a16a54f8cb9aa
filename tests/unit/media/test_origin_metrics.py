"""The origin faces viewers; its metrics name every live stream, so only loopback reads them."""

from __future__ import annotations

import httpx

from media.origin import create_origin


async def metrics_from(client_host: str) -> httpx.Response:
    app = create_origin(streams=None, metrics=lambda: 'media_part_lag_seconds{stream="st_secret"} 0.1\n')  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://origin") as client:
        return await client.get("/metrics")


async def test_a_viewer_cannot_list_the_live_streams_from_the_metrics() -> None:
    outside = await metrics_from("203.0.113.7")
    assert outside.status_code == 403
    assert "st_secret" not in outside.text
    local = await metrics_from("127.0.0.1")
    assert local.status_code == 200
    assert "st_secret" in local.text
