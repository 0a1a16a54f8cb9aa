# No `from __future__ import annotations` here: Dagster reads the resource fields at runtime.
"""Finance's Dagster resources: the ledger (PostgreSQL), the warehouse (ClickHouse), the event
bus (Kafka) and the folders statements and settlement files live in.

Each one is configured, never built at import: ``platform_resources(settings)`` is the one
place that reads the platform settings (the definitions loader, the command line and the demo
call it), and tests pass resources pointing at their own databases and folders. Secrets
travel as Dagster ``EnvVar``s where the environment holds them, so the UI never shows them.
"""

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from dagster import ConfigurableResource, EnvVar
from psycopg_pool import AsyncConnectionPool

from orchestration.payouts import FinanceStore
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.postgres.named_sql import load
from streams.settings import FinanceSettings, Settings, postgres_dsn
from warehouse.client import connect

T = TypeVar("T")
if TYPE_CHECKING:  # generic to the type checker only; pydantic refuses the subscript at runtime
    Resource = ConfigurableResource[Any]
else:
    Resource = ConfigurableResource
WAREHOUSE_SQL = load(Path(__file__).with_name("warehouse.sql"))


class LedgerResource(Resource):
    """The ledger of record and finance's payout rules (minimum, conversion, currency)."""

    url: str
    password: str = ""
    min_payout_cents: int
    cents_per_coin_bps: int
    currency: str
    payout_expiry_days: int

    def run(self, body: Callable[[FinanceStore], Awaitable[T]]) -> T:
        """Run ``body`` against the ledger with a short-lived pool (Dagster steps are sync)."""
        finance = FinanceSettings(
            min_payout_cents=self.min_payout_cents,
            cents_per_coin_bps=self.cents_per_coin_bps,
            currency=self.currency,
            payout_expiry_days=self.payout_expiry_days,
        )
        dsn = postgres_dsn(self.url, self.password)

        async def run() -> T:
            pool = AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False)
            await pool.open(wait=True, timeout=30)
            try:
                return await body(FinanceStore(pool, finance))
            finally:
                await pool.close()

        return asyncio.run(run())


class WarehouseResource(Resource):
    """ClickHouse: finance's named queries (``warehouse.sql``), parameters bound by the server."""

    url: str
    database: str
    user: str = "default"
    password: str = ""

    def rows(self, name: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        client = connect(self.url, database=self.database, user=self.user, password=self.password)
        try:
            return [tuple(r) for r in client.query(WAREHOUSE_SQL[name], parameters=parameters).result_rows]
        finally:
            client.close()


class EventBusResource(Resource):
    """Kafka: finance's payout events, each acknowledged by the broker before the step ends."""

    bootstrap_servers: str

    def publish(self, events: Sequence[Any]) -> None:
        if not events:
            return
        with KafkaWire(self.bootstrap_servers, client_id="finance") as wire:
            producer = EventProducer(wire)
            for event in events:
                producer.send_sync(event)


class FinanceFolders(Resource):
    """Where creator statements are written and where the provider drops settlement files."""

    statements_dir: str
    settlement_dir: str

    @property
    def statements(self) -> Path:
        return Path(self.statements_dir)

    @property
    def settlements(self) -> Path:
        return Path(self.settlement_dir)


def _secret(name: str, value: str) -> Any:
    """A secret as an EnvVar when the environment holds it (masked in Dagster's UI), else as given."""
    return EnvVar(name) if os.environ.get(name) else value


class FinanceResources(TypedDict):
    ledger: LedgerResource
    warehouse: WarehouseResource
    events: EventBusResource
    folders: FinanceFolders


def platform_resources(settings: Settings) -> FinanceResources:
    """The real resources, from the platform settings: the only place finance reads them."""
    finance = settings.finance
    ch = settings.clickhouse
    return {
        "ledger": LedgerResource(
            url=settings.postgres.url,
            password=_secret("POSTGRES_PASSWORD", settings.postgres.password.get_secret_value()),
            min_payout_cents=finance.min_payout_cents,
            cents_per_coin_bps=finance.cents_per_coin_bps,
            currency=finance.currency,
            payout_expiry_days=finance.payout_expiry_days,
        ),
        "warehouse": WarehouseResource(
            url=ch.url,
            database=ch.database,
            user=ch.user,
            password=_secret("CLICKHOUSE_PASSWORD", ch.password.get_secret_value()),
        ),
        "events": EventBusResource(bootstrap_servers=settings.kafka.bootstrap_servers),
        "folders": FinanceFolders(
            statements_dir=str(finance.statements_dir), settlement_dir=str(finance.settlement_dir)
        ),
    }
