"""Kafka -> ClickHouse raw tables (warehouse.schema), exactly-once in effect."""
