"""Composition root of the HTTP API: settings, clients, routes, error mapping, health.

python -m serving.api [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import confluent_kafka
import psycopg
import redis.exceptions
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.api.account_routes import router as account_router
from serving.api.auth_limits import AuthLimits
from serving.api.creator_routes import router as creator_router
from serving.api.fraud_routes import router as fraud_router
from serving.api.idempotency import IdempotencyStore
from serving.api.openapi import install as install_openapi
from serving.api.openapi import operation_id
from serving.api.ops_routes import router as ops_router
from serving.api.room_routes import router as room_router
from serving.api.routes import problem, router
from serving.api.state import AppState
from serving.api.stream_routes import router as stream_router
from serving.api.warehouse_reads import WarehouseReads
from serving.auth.tokens import require_secret
from serving.console.routes import router as console_router
from serving.exceptions import ApiProblem, TooManyRequests
from serving.metrics import HTTP_REQUESTS, HTTP_SECONDS, route_of
from serving.sandbox.routes import router as sandbox_router
from serving.web.pages import router as web_router
from streams.accounts.passwords import Passwords
from streams.accounts.store import PostgresAccounts
from streams.broadcast.keys import StreamKeys
from streams.broadcast.playback import PlaybackSessions
from streams.bus.producer import EventProducer
from streams.bus.retry import TRANSIENT
from streams.bus.wire import DeliveryFailed, KafkaWire
from streams.exceptions import ContractViolation, Refused
from streams.fraud.alert_acks import AlertAcks
from streams.fraud.counters import RedisCounters
from streams.fraud.rules import topup_rules
from streams.gifts.holds import GiftHolds
from streams.heap import prepare_heap_for_serving
from streams.ledger.model import IdempotencyConflict, InsufficientFunds, LedgerError, UnknownTransfer
from streams.ledger.store import PostgresLedger
from streams.metrics import series
from streams.redis_pool import connect_redis
from streams.rooms.directory import RoomDirectory, RoomError, UnknownRoom
from streams.rooms.history import ChatHistory
from streams.rooms.holds import ChatHolds, UnknownHold
from streams.rooms.platform_bans import PlatformBans
from streams.rooms.presence import PresenceBoard
from streams.settings import Settings
from streams.tracing import current_trace_id, describe, traced
from streams.wallet.store import PostgresTopUps

log = structlog.get_logger(__name__)


# How a use-case's refusal answers over HTTP, by reason (422 unless named here); the socket acks
# the same detail.
REFUSALS = {
    "username_taken": (409, "Conflict"),
    "wrong_credentials": (401, "Unauthorized"),
    "sender_banned": (403, "Forbidden"),
    "fraud_blocked": (403, "Forbidden"),
    "unknown_topup": (404, "Not found"),
}

# A caller's own request id is kept only if it looks like one (it goes into logs and headers).
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestContext:
    """Pure ASGI middleware: a request id bound to every log line, echoed in X-Request-ID, and one
    canonical log line per request (BaseHTTPMiddleware stalls requests that read their body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"x-trace-id", (current_trace_id() or "").encode()),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        with (
            traced(headers.get(b"traceparent")) as trace_id,
            structlog.contextvars.bound_contextvars(request_id=request_id, trace_id=trace_id),
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.monotonic() - started
                route = route_of(scope)
                describe(
                    f"{scope['method']} {route}", {"http.route": route, "http.response.status_code": status}
                )
                series(HTTP_REQUESTS, scope["method"], route, str(status)).inc()
                series(HTTP_SECONDS, scope["method"], route).observe(seconds)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(seconds * 1000, 1),
                )


Background = Callable[[AppState], Coroutine[Any, Any, None]]


def unavailable_dependency(err: Exception) -> str:
    """Which platform dependency a transient failure came from, in the words of the 503."""
    if isinstance(err, DeliveryFailed | confluent_kafka.KafkaException):
        return "event broker"
    if isinstance(err, psycopg.OperationalError):
        return "ledger database"
    if isinstance(err, redis.exceptions.RedisError):
        return "cache"
    return "backend"


async def prepare_heap(_: AppState) -> None:
    """A deployable's background task: once it serves, its start-up heap is frozen
    (``streams.heap``). Not part of every app built: a test process keeps its own heap."""
    prepare_heap_for_serving()


def create_app(settings: Settings, background: Sequence[Background] = ()) -> FastAPI:
    """``background`` tasks (a gateway node's heartbeat) run while the app serves, cancelled at
    shutdown. Refuses to build without strong signing secrets (tokens, payment webhooks)."""
    require_secret(settings.auth.token_secret.get_secret_value(), "AUTH_TOKEN_SECRET")
    require_secret(settings.payments.webhook_secret.get_secret_value(), "PAYMENTS_WEBHOOK_SECRET")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=2, max_size=20, open=False)
        await pool.open(wait=True, timeout=30)
        keys = await IdempotencyStore.open_pool(settings.postgres.dsn())
        # A request waits at most this long for the broker, then answers 503 with Retry-After
        # (its Idempotency-Key is released, so the client's retry is safe).
        wire = KafkaWire(
            settings.kafka.bootstrap_servers,
            client_id="api",
            extra={"message.timeout.ms": settings.kafka.request_timeout_ms},
        )
        redis = connect_redis(settings.redis.url)
        app.state.platform = AppState(
            settings=settings,
            pool=pool,
            ledger=PostgresLedger(pool, creator_share_bps=settings.money.creator_share_bps),
            producer=EventProducer(wire),
            idempotency=IdempotencyStore(keys, settings.payments.idempotency_claim_ttl_s),
            counters=RedisCounters(redis),
            holds=GiftHolds(pool),
            topup_rules=topup_rules(settings.fraud),
            redis=redis,
            rooms=RoomDirectory(pool, redis),
            chat_holds=ChatHolds(pool),
            history=ChatHistory(
                redis, max_messages=settings.rooms.history_messages, window_s=settings.rooms.history_window_s
            ),
            presence=PresenceBoard(redis, node_ttl_s=settings.rooms.node_ttl_s),
            stream_keys=StreamKeys(pool),
            playback=PlaybackSessions(redis),
            topups=PostgresTopUps(pool),
            auth_limits=AuthLimits(
                redis, settings.auth.failed_auth_per_minute, settings.auth.dev_tokens_per_minute
            ),
            platform_bans=PlatformBans(pool, redis),
            alert_acks=AlertAcks(pool),
            warehouse=WarehouseReads(settings.clickhouse),
            accounts=PostgresAccounts(pool),
            passwords=Passwords(),
        )
        app.state.wire = wire
        tasks = [asyncio.create_task(task(app.state.platform)) for task in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            wire.close()
            app.state.platform.warehouse.close()
            await redis.aclose()
            await keys.close()
            await pool.close()

    app = FastAPI(
        title="live-platform API",
        version="1",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # The platform's own tracing makes each request's span (``RequestContext``, continuing
        # the caller's traceparent into Kafka); FastAPI's native telemetry would only look for
        # global OpenTelemetry providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.include_router(router)
    app.include_router(fraud_router)
    app.include_router(room_router)
    app.include_router(stream_router)
    app.include_router(ops_router)
    app.include_router(console_router)
    app.include_router(account_router)
    app.include_router(creator_router)
    app.include_router(sandbox_router)
    app.include_router(web_router)
    app.add_middleware(RequestContext)
    install_openapi(app)

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, err: ApiProblem) -> JSONResponse:
        response = problem(err.status, err.title, err.detail, request.url.path, err.reason)
        if isinstance(err, TooManyRequests):
            response.headers["Retry-After"] = str(err.retry_after_s)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own answers (a body that is not JSON, an unknown path, a method not allowed)
        # are problems like every other error.
        response = problem(
            err.status_code, HTTPStatus(err.status_code).phrase, str(err.detail), request.url.path
        )
        for name, value in (err.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return problem(422, "Unprocessable request", detail, request.url.path)

    @app.exception_handler(ContractViolation)
    async def contract(request: Request, err: ContractViolation) -> JSONResponse:
        return problem(422, "Unprocessable request", err.reason, request.url.path)

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, err: LedgerError) -> JSONResponse:
        status = 404 if isinstance(err, UnknownTransfer) else 409
        if isinstance(err, IdempotencyConflict):
            status = 422
        title = "Insufficient funds" if isinstance(err, InsufficientFunds) else "Conflict"
        return problem(status, title, str(err), request.url.path)

    async def dependency_unavailable(request: Request, err: Exception) -> JSONResponse:
        what = unavailable_dependency(err)
        log.warning("dependency_unavailable", dependency=what, error=str(err)[:300])
        response = problem(
            503,
            "Service unavailable",
            f"the {what} did not answer in time; retrying with the same Idempotency-Key is safe",
            request.url.path,
            f"{what.replace(' ', '_')}_unavailable",
        )
        response.headers["Retry-After"] = "2"
        return response

    for transient in TRANSIENT:
        app.add_exception_handler(transient, dependency_unavailable)

    @app.exception_handler(Refused)
    async def refused(request: Request, err: Refused) -> JSONResponse:
        status, title = REFUSALS.get(err.reason, (422, "Unprocessable request"))
        return problem(status, title, err.detail, request.url.path, err.reason)

    @app.exception_handler(RoomError)
    async def room_error(request: Request, err: RoomError) -> JSONResponse:
        status = 404 if isinstance(err, UnknownRoom | UnknownHold) else 409
        return problem(status, "Not found" if status == 404 else "Conflict", str(err), request.url.path)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        state: AppState = request.app.state.platform
        checks: dict[str, str] = {}
        try:
            async with state.pool.connection() as conn:
                await conn.execute("SELECT 1")
            checks["postgres"] = "ok"
        except Exception as err:
            checks["postgres"] = f"failing: {type(err).__name__}"
        try:
            await state.redis.ping()
            checks["redis"] = "ok"
        except Exception as err:
            checks["redis"] = f"failing: {type(err).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return app


def main() -> None:
    import argparse

    import uvicorn

    from streams.logs import configure_logging
    from streams.metrics import serve_metrics
    from streams.telemetry import init_telemetry

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics on loopback (0: any free port)"
    )
    args = parser.parse_args()
    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "api")
    serve_metrics("api", settings.local.run_dir, port=args.metrics_port)
    uvicorn.run(
        create_app(settings, background=[prepare_heap]),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
