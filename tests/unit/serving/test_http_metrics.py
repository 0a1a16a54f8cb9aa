"""Each HTTP request is counted under the route template it matched (bounded labels), with its
status, and timed."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from serving.api.app import RequestContext


def requests(route: str, status: str) -> float:
    labels = {"method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def timed(route: str) -> float:
    return REGISTRY.get_sample_value("http_request_seconds_count", {"method": "GET", "route": route}) or 0.0


def test_requests_are_counted_by_route_template_and_status() -> None:
    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"thing_id": thing_id}

    app.add_middleware(RequestContext)
    client = TestClient(app)
    before = (
        requests("/v1/things/{thing_id}", "200"),
        requests("unmatched", "404"),
        timed("/v1/things/{thing_id}"),
    )
    assert client.get("/v1/things/a").status_code == 200
    assert client.get("/v1/things/b").status_code == 200
    assert client.get("/nowhere/at/all").status_code == 404
    after = (
        requests("/v1/things/{thing_id}", "200"),
        requests("unmatched", "404"),
        timed("/v1/things/{thing_id}"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 2]
