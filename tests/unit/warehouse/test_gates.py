from __future__ import annotations

from streams.topics import TOPICS
from warehouse.migrate import MIGRATIONS_DIR
from warehouse.schema import RAW_TABLES, create_statement, gate_name, gate_statements, gate_ttl_days


def test_every_raw_table_and_its_gate_are_migrated_as_the_schema_generates_them() -> None:
    migrations = "\n".join(path.read_text() for path in sorted(MIGRATIONS_DIR.glob("*.sql")))
    for table in RAW_TABLES:
        assert gate_statements(table) in migrations, table.name
        # The sink writes the gate after the insert returned; a view filling it in the insert
        # (the first design, migration 0002) could commit while the table's other views did not.
        if f"CREATE MATERIALIZED VIEW IF NOT EXISTS {gate_name(table)}_mv" in migrations:
            assert f"DROP VIEW IF EXISTS {gate_name(table)}_mv;" in migrations, table.name
        if f"ALTER TABLE {table.name} " not in migrations:  # changed later: the live-columns test checks it
            assert create_statement(table) in migrations, table.name


def test_every_gate_remembers_an_id_longer_than_kafka_can_redeliver_it() -> None:
    for table in RAW_TABLES:
        for spec in TOPICS:
            if spec.retention is not None and any(m in table.events for m in spec.events):
                assert gate_ttl_days(table) > spec.retention.days, (table.name, spec.name)
