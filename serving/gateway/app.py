"""Composition root of a gateway node: the HTTP API and Socket.IO on one ASGI app.

    python -m serving.gateway [--host 127.0.0.1] [--port 8000] [--node-id gw-1]

Nodes share rooms through Redis (python-socketio's AsyncRedisManager), so a Faust worker or
another node can emit to a room wherever its members are connected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
from collections.abc import Sequence
from typing import Any

import socketio

from serving.api.app import Background, create_app, prepare_heap
from serving.api.state import AppState
from serving.gateway.engineio_poll import install as install_engineio_poll
from serving.gateway.recovery import RecoveringRedisManager
from serving.gateway.server import register
from streams.settings import Settings

SOCKET_PATH = "socket.io"


def create_gateway(settings: Settings, node_id: str, background: Sequence[Background] = ()) -> Any:
    instance = f"{node_id}.{secrets.token_hex(4)}"
    install_engineio_poll()

    async def heartbeat(state: AppState) -> None:
        """This instance's presence heartbeat; its connections expire when it stops."""
        try:
            while True:
                await state.presence.heartbeat(instance)
                await asyncio.sleep(settings.rooms.node_heartbeat_s)
        finally:
            with contextlib.suppress(Exception):
                await state.presence.node_gone(instance)

    api = create_app(settings, background=[heartbeat, *background])
    manager = RecoveringRedisManager(settings.redis.url)
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
    )
    register(sio, api, manager, settings.rooms, node_id, instance)
    return socketio.ASGIApp(sio, other_asgi_app=api, socketio_path=SOCKET_PATH)


def main() -> None:
    import uvicorn

    from streams.logs import configure_logging
    from streams.metrics import serve_metrics
    from streams.telemetry import init_telemetry

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--node-id", default=os.environ.get("GATEWAY_NODE_ID", "gw-1"))
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics on loopback (0: any free port)"
    )
    args = parser.parse_args()
    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "gateway")
    serve_metrics("gateway", settings.local.run_dir, port=args.metrics_port, labels={"node": args.node_id})
    # No permessage-deflate: compressing every frame for every socket cost the node a third of
    # its CPU on room broadcasts (and the clients as much to inflate); chat frames are small.
    uvicorn.run(
        create_gateway(settings, args.node_id, background=[prepare_heap]),
        host=args.host,
        port=args.port,
        log_level="warning",
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
