from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from warehouse.catalog import BadParameter, all_queries, get, load
from warehouse.exceptions import UnknownQuery, WarehouseError
from warehouse.reference import describe, render_reference
from warehouse.schema import RAW_TABLES, expected_columns

REPO = Path(__file__).resolve().parents[3]


def test_docs_warehouse_md_is_current() -> None:
    assert (REPO / "docs" / "warehouse.md").read_text() == render_reference(), (
        "regenerate: python -m warehouse docs > docs/warehouse.md"
    )


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.name)
def test_every_column_is_described(table: object) -> None:
    missing = [c for c in expected_columns(table) if not describe(table, c)]  # type: ignore[arg-type]
    assert not missing


def test_every_named_query_is_described_and_its_parameters_documented() -> None:
    queries = all_queries()
    assert len(queries) >= 10
    for query in queries.values():
        assert query.description, query.name
        assert all(p.doc for p in query.parameters), query.name


def test_parameters_are_typed_and_checked() -> None:
    query = get("top_streams")
    assert query.bind({"day": "2026-11-28", "limit": "5"}) == {"day": dt.date(2026, 11, 28), "limit": 5}
    with pytest.raises(BadParameter, match="expects Date"):
        query.bind({"day": "tomorrow", "limit": "5"})
    with pytest.raises(BadParameter, match="must not be negative"):
        query.bind({"day": "2026-11-28", "limit": "-1"})
    with pytest.raises(BadParameter, match="needs --param limit"):
        query.bind({"day": "2026-11-28"})
    with pytest.raises(BadParameter, match="has no parameter room"):
        query.bind({"day": "2026-11-28", "limit": "1", "room": "x"})
    with pytest.raises(UnknownQuery, match="no query named"):
        get("nope")


def test_an_undocumented_parameter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.sql"
    path.write_text("-- A query.\nSELECT {x:UInt8}\n")
    with pytest.raises(WarehouseError, match="document parameters"):
        load(path)
