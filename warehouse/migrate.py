"""Apply ClickHouse migrations in order; history lives in ``schema_migrations``.

ClickHouse has no transactions, so every statement is written to be re-runnable
(``IF NOT EXISTS``), and a migration is recorded only after all its statements succeeded.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from clickhouse_connect.driver.client import Client

from streams.schema_migrations import Migration, discover, plan

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version
"""


def migrate(client: Client, folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    available = discover(folder)
    client.command(CREATE_HISTORY)
    rows = client.query(
        "SELECT version, argMax(checksum, applied_at) FROM schema_migrations GROUP BY version"
    )
    pending = plan(available, {int(v): str(c) for v, c in rows.result_rows})
    for migration in pending:
        for statement in migration.statements():
            client.command(statement)
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        log.info("clickhouse_migration_applied", version=migration.version, name=migration.name)
    return pending
