"""The one ClickHouse client factory: the same code for the server and the embedded engine.

``http://host:8123`` talks to the server (many processes); ``chdb:///abs/path`` runs the
engine in this process (one process per data folder). Both return a clickhouse-connect
client with the same API, so callers never branch on which one they got.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from warehouse.exceptions import WarehouseError


def connect(
    url: str,
    *,
    database: str | None = None,
    user: str = "default",
    password: str = "",
    **settings: Any,
) -> Client:
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        if not parts.path.startswith("/"):
            raise WarehouseError(f"chdb URL needs an absolute path: {url!r}")
        client = clickhouse_connect.get_client(dsn=f"chdb://{parts.path}")
    elif parts.scheme in {"http", "https"}:
        client = clickhouse_connect.get_client(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            secure=parts.scheme == "https",
            username=user,
            password=password,
            settings=settings or None,
            connect_timeout=5,
            send_receive_timeout=60,
            autogenerate_session_id=False,
        )
    else:
        raise WarehouseError(
            f"unsupported ClickHouse URL scheme in {url!r}: use http://, https:// or chdb:///"
        )
    if database:
        client.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
        client.database = database
    return client


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier (database/table names cannot be bound as parameters)."""
    if not name or "`" in name or "\\" in name or "\x00" in name:
        raise WarehouseError(f"invalid ClickHouse identifier: {name!r}")
    return f"`{name}`"
