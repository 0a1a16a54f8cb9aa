"""PostgreSQL: the migration runner on a real server, in a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from streams.postgres.migrate import MIGRATIONS_DIR, migrate
from streams.schema_migrations import MigrationError
from streams.settings import Settings


@pytest.fixture
def schema_dsn(settings: Settings, unique: str) -> Iterator[str]:
    schema = f"test_{unique}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    yield f"{settings.postgres.dsn()}?options=-csearch_path%3D{schema}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))


def test_project_migrations_apply_once_then_are_a_no_op(schema_dsn: str) -> None:
    applied = migrate(schema_dsn)
    assert [m.version for m in applied] == list(range(1, len(applied) + 1))
    assert migrate(schema_dsn) == []
    with psycopg.connect(schema_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM probe_receipts").fetchone() == (0,)


def test_a_failing_migration_rolls_back_and_is_not_recorded(schema_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (y int); SELECT * FROM missing_table;")
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(schema_dsn, tmp_path)
    with psycopg.connect(schema_dsn) as conn:
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        }
        assert "b" not in tables  # the whole run was one transaction
        assert "a" not in tables


def test_an_edited_migration_is_refused(schema_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x int);")
    migrate(schema_dsn, tmp_path)
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(schema_dsn, tmp_path)


def test_migrations_dir_is_the_project_one() -> None:
    assert (MIGRATIONS_DIR / "0001_probe_receipts.sql").exists()
