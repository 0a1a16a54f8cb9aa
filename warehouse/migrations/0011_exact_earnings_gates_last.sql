-- Exact money under faults (the chaos test's clickhouse fault, CI on 28b36d3: creator_earnings_daily
-- showed 126 coins more than the ledger).
--
-- An INSERT into a raw table feeds several views, and ClickHouse commits each of them on its own:
-- a server killed in the middle leaves the raw rows and some views written, others not. The
-- first-seen gates were such views, so a gate could hold ids whose aggregates were never written,
-- or miss ids that were; when the sink gave up retrying and the consumer came back with the same
-- records batched differently (a new deduplication token), the summing earnings view counted
-- them a second time (or, the other way round, never).
--
-- 1. The gates are written by the sink itself, after the INSERT into the raw table returned, so a
--    gate holds an id only once every view fed by that insert has it (pipelines/warehouse/sink.py).
DROP VIEW IF EXISTS chat_events_seen_mv;
DROP VIEW IF EXISTS reactions_seen_mv;
DROP VIEW IF EXISTS reaction_bursts_seen_mv;
DROP VIEW IF EXISTS presence_events_seen_mv;
DROP VIEW IF EXISTS room_occupancy_seen_mv;
DROP VIEW IF EXISTS gift_events_seen_mv;
DROP VIEW IF EXISTS topups_seen_mv;
DROP VIEW IF EXISTS ledger_postings_seen_mv;
DROP VIEW IF EXISTS payouts_seen_mv;
DROP VIEW IF EXISTS qos_beacons_seen_mv;
DROP VIEW IF EXISTS stream_lifecycle_seen_mv;
DROP VIEW IF EXISTS moderation_actions_seen_mv;
DROP VIEW IF EXISTS fraud_alerts_seen_mv;
DROP VIEW IF EXISTS ops_alerts_seen_mv;

-- 2. Creator earnings hold one row per posted transfer, replaced by transfer id: a transfer
--    written twice, by any path, is counted once. Read with FINAL (warehouse/queries/creator_earnings.sql).
DROP VIEW IF EXISTS creator_earnings_daily_mv;
DROP TABLE IF EXISTS creator_earnings_daily;

CREATE TABLE IF NOT EXISTS creator_earnings_daily
(
    `creator_id`  String,
    `day`         Date,
    `asset`       LowCardinality(String),
    `transfer_id` UUID,
    `credited`    Int64,
    `debited`     Int64,
    `postings`    UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (creator_id, day, asset, transfer_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS creator_earnings_daily_mv TO creator_earnings_daily AS
SELECT
    if(startsWith(credit_account, 'creator_earnings:'), substring(credit_account, 18), substring(debit_account, 18)) AS creator_id,
    toDate(posted_at) AS day,
    toString(asset) AS asset,
    transfer_id,
    toInt64(if(startsWith(credit_account, 'creator_earnings:'), amount, 0)) AS credited,
    toInt64(if(startsWith(debit_account, 'creator_earnings:'), amount, 0)) AS debited,
    toUInt64(1) AS postings
FROM ledger_postings
WHERE state = 'posted'
  AND (startsWith(credit_account, 'creator_earnings:') OR startsWith(debit_account, 'creator_earnings:'));

-- Backfill from the ledger postings already here (run while the sink is stopped).
INSERT INTO creator_earnings_daily
SELECT
    if(startsWith(credit_account, 'creator_earnings:'), substring(credit_account, 18), substring(debit_account, 18)),
    toDate(posted_at),
    toString(asset),
    transfer_id,
    toInt64(if(startsWith(credit_account, 'creator_earnings:'), amount, 0)),
    toInt64(if(startsWith(debit_account, 'creator_earnings:'), amount, 0)),
    toUInt64(1)
FROM ledger_postings FINAL
WHERE state = 'posted'
  AND (startsWith(credit_account, 'creator_earnings:') OR startsWith(debit_account, 'creator_earnings:'));
