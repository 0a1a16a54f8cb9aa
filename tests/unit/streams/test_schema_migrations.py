from __future__ import annotations

from pathlib import Path

import pytest

from streams.schema_migrations import Migration, MigrationError, discover, plan


def write(folder: Path, name: str, sql: str) -> None:
    (folder / name).write_text(sql)


def test_discover_orders_by_version_and_rejects_bad_names(tmp_path: Path) -> None:
    write(tmp_path, "0002_second.sql", "SELECT 2;")
    write(tmp_path, "0001_first.sql", "SELECT 1;")
    assert [m.version for m in discover(tmp_path)] == [1, 2]
    write(tmp_path, "third.sql", "SELECT 3;")
    with pytest.raises(MigrationError, match=r"NNNN_description\.sql"):
        discover(tmp_path)


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.sql", "SELECT 1;")
    write(tmp_path, "0001_b.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="two migrations with version 0001"):
        discover(tmp_path)


def test_plan_returns_only_pending_in_order() -> None:
    a, b, c = Migration(1, "a", "A;"), Migration(2, "b", "B;"), Migration(3, "c", "C;")
    assert plan([a, b, c], {}) == [a, b, c]
    assert plan([a, b, c], {1: a.checksum}) == [b, c]
    assert plan([a, b, c], {1: a.checksum, 2: b.checksum, 3: c.checksum}) == []


def test_an_edited_applied_migration_stops_the_run() -> None:
    a = Migration(1, "a", "CREATE TABLE t (x int);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        plan([a], {1: Migration(1, "a", "CREATE TABLE t (y int);").checksum})


def test_a_deleted_applied_migration_stops_the_run() -> None:
    with pytest.raises(MigrationError, match="its file is gone"):
        plan([], {1: "abc"})


def test_statements_split_on_line_ending_semicolons() -> None:
    sql = "-- header\nCREATE TABLE a (x String DEFAULT 'a;b');\n\nCREATE TABLE b\n(\n  y UInt8\n);\n-- trailing\n"
    assert Migration(1, "m", sql).statements() == [
        "CREATE TABLE a (x String DEFAULT 'a;b')",
        "CREATE TABLE b\n(\n  y UInt8\n)",
    ]
