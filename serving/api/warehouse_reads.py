"""The edge's reads from ClickHouse: named queries in ``serving/console/console.sql`` (the
trust-and-safety console) and ``serving/api/apps.sql`` (the apps), bound by the server.

The client is made on first use, so the API starts (and answers everything else) while
ClickHouse is down; the queries run on a worker thread (clickhouse-connect is synchronous, and
its session-less HTTP client is safe to share between threads).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from streams.postgres.named_sql import load
from streams.settings import ClickHouseSettings
from warehouse.client import connect

SERVING = Path(__file__).parent.parent
SQL = {**load(SERVING / "console" / "console.sql"), **load(SERVING / "api" / "apps.sql")}


class WarehouseReads:
    def __init__(self, settings: ClickHouseSettings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = threading.Lock()

    def _connect(self) -> Client:
        with self._lock:
            if self._client is None:
                s = self._settings
                self._client = connect(
                    s.url, database=s.database, user=s.user, password=s.password.get_secret_value()
                )
            return self._client

    async def rows(self, name: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        """The named query's rows as dicts (column name -> value)."""

        def run() -> list[dict[str, Any]]:
            try:
                result = self._connect().query(SQL[name], parameters=parameters)
            except OperationalError as err:  # down or unreachable: a 503 with Retry-After
                raise ConnectionError(f"the warehouse (ClickHouse) did not answer: {err}") from err
            return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

        return await asyncio.to_thread(run)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
