-- The raw envelope of every event the platform carries, one row per event_id.
-- ReplacingMergeTree on (event_type, occurred_at, event_id): a redelivered event collapses
-- into one row (occurred_at never changes for an event_id); read with FINAL for exact counts.
-- Inserts carry a deduplication token per batch (non_replicated_deduplication_window).
CREATE TABLE IF NOT EXISTS event_log
(
    event_id       UUID,
    event_type     LowCardinality(String),
    schema_version UInt16,
    occurred_at    DateTime64(3, 'UTC'),
    producer       LowCardinality(String),
    topic          LowCardinality(String),
    partition      UInt16,
    offset         UInt64,
    payload        String CODEC(ZSTD(3)),
    ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toDate(occurred_at)
ORDER BY (event_type, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;
