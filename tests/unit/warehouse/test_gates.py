from __future__ import annotations

from streams.topics import TOPICS
from warehouse.migrate import MIGRATIONS_DIR
from warehouse.schema import RAW_TABLES, all_gate_statements, gate_ttl_days


def test_the_gate_migration_is_what_the_schema_generates() -> None:
    migration = (MIGRATIONS_DIR / "0007_first_seen_gates.sql").read_text()
    assert "\n".join(all_gate_statements()) in migration


def test_every_gate_remembers_an_id_longer_than_kafka_can_redeliver_it() -> None:
    for table in RAW_TABLES:
        for spec in TOPICS:
            if spec.retention is not None and any(m in table.events for m in spec.events):
                assert gate_ttl_days(table) > spec.retention.days, (table.name, spec.name)
