"""Apply pending PostgreSQL migrations in order, all in one transaction, under an advisory lock.

PostgreSQL DDL is transactional: a run that fails part-way leaves the schema as it was.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog

from streams.schema_migrations import Migration, discover, plan

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant: serialises concurrent runners (two services starting at once).
ADVISORY_LOCK_KEY = 7_340_001

CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def migrate(dsn: str, folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply what is pending; returns what was applied (empty when up to date)."""
    available = discover(folder)
    applied_now: list[Migration] = []
    with psycopg.connect(dsn, autocommit=False) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        conn.execute(CREATE_HISTORY)
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        pending = plan(available, {int(v): str(c) for v, c in rows})
        for migration in pending:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            log.info("postgres_migration_applied", version=migration.version, name=migration.name)
            applied_now.append(migration)
    return applied_now
