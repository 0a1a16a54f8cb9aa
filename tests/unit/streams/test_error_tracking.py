"""Error tracking is off without a DSN; with one, an error is reported carrying the request and
event ids bound where it happened (received here by a local HTTP endpoint standing in for Sentry)."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import sentry_sdk
import structlog
from pydantic import SecretStr

from streams.errors import init_error_tracking
from streams.settings import Settings


class Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Receiver.bodies.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_without_a_dsn_nothing_is_started() -> None:
    settings = Settings()
    settings.observe.sentry_dsn = SecretStr("")
    assert init_error_tracking(settings, "api") is False


def test_an_error_is_reported_with_the_ids_of_what_was_being_handled() -> None:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings()
    settings.observe.sentry_dsn = SecretStr(f"http://public@127.0.0.1:{server.server_port}/1")
    try:
        assert init_error_tracking(settings, "worker") is True
        with structlog.contextvars.bound_contextvars(
            request_id="req-42", event_id="ev-7", trace_id="ab" * 16
        ):
            try:
                raise RuntimeError("settlement failed")
            except RuntimeError as err:
                sentry_sdk.capture_exception(err)
        sentry_sdk.flush(5)
    finally:
        sentry_sdk.init(dsn=None)
        server.shutdown()
    items = [
        json.loads(line) for body in Receiver.bodies for line in body.splitlines() if line.startswith(b"{")
    ]
    (event,) = [item for item in items if "exception" in item]
    assert event["tags"]["request_id"] == "req-42"
    assert event["tags"]["event_id"] == "ev-7"
    assert event["tags"]["deployable"] == "worker"
    assert event["exception"]["values"][0]["value"] == "settlement failed"
