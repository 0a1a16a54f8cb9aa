-- Live aggregates: materialized views fed by every insert into the raw tables.
-- Read them with the -Merge / sum / max combinators (see warehouse/queries/*.sql); parts
-- merge in the background, so always GROUP BY the key when querying.

-- Per room per minute engagement -------------------------------------------------------
CREATE TABLE IF NOT EXISTS room_engagement_minute
(
    `room_id`      LowCardinality(String),
    `minute`       DateTime('UTC'),
    `messages`     SimpleAggregateFunction(sum, UInt64),
    `chatters`     AggregateFunction(uniqExact, String),
    `reactions`    SimpleAggregateFunction(sum, UInt64),
    `gifts`        SimpleAggregateFunction(sum, UInt64),
    `gift_coins`   SimpleAggregateFunction(sum, Int64),
    `peak_viewers` SimpleAggregateFunction(max, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(minute)
ORDER BY (room_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS room_engagement_chat_mv TO room_engagement_minute AS
SELECT room_id, toStartOfMinute(occurred_at) AS minute,
       toUInt64(count()) AS messages, uniqExactState(assumeNotNull(user_id)) AS chatters
FROM chat_events
WHERE event_type = 'chat.message.accepted'
GROUP BY room_id, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS room_engagement_reactions_mv TO room_engagement_minute AS
SELECT room_id, toStartOfMinute(occurred_at) AS minute, toUInt64(count()) AS reactions
FROM reactions
GROUP BY room_id, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS room_engagement_gifts_mv TO room_engagement_minute AS
SELECT room_id, toStartOfMinute(occurred_at) AS minute,
       toUInt64(count()) AS gifts, toInt64(sum(assumeNotNull(total_coins))) AS gift_coins
FROM gift_events
WHERE event_type = 'gift.settled'
GROUP BY room_id, minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS room_engagement_occupancy_mv TO room_engagement_minute AS
SELECT room_id, toStartOfMinute(occurred_at) AS minute, toInt64(max(viewers)) AS peak_viewers
FROM room_occupancy
GROUP BY room_id, minute;

-- Creator earnings per day, from ledger postings ---------------------------------------
-- credited: posted transfers into the creator's earnings account (gifts);
-- debited: posted transfers out of it (payouts, reversals). net = credited - debited.
CREATE TABLE IF NOT EXISTS creator_earnings_daily
(
    `creator_id` String,
    `day`        Date,
    `asset`      LowCardinality(String),
    `credited`   Int64,
    `debited`    Int64,
    `postings`   UInt64
)
ENGINE = SummingMergeTree
ORDER BY (creator_id, day, asset);

CREATE MATERIALIZED VIEW IF NOT EXISTS creator_earnings_daily_mv TO creator_earnings_daily AS
SELECT
    if(startsWith(credit_account, 'creator_earnings:'), substring(credit_account, 18), substring(debit_account, 18)) AS creator_id,
    toDate(posted_at) AS day,
    toString(asset) AS asset,
    toInt64(sumIf(amount, startsWith(credit_account, 'creator_earnings:'))) AS credited,
    toInt64(sumIf(amount, startsWith(debit_account, 'creator_earnings:'))) AS debited,
    toUInt64(count()) AS postings
FROM ledger_postings
WHERE state = 'posted'
  AND (startsWith(credit_account, 'creator_earnings:') OR startsWith(debit_account, 'creator_earnings:'))
GROUP BY creator_id, day, asset;

-- QoE per stream per minute (Mux/Conviva vocabulary) ------------------------------------
CREATE TABLE IF NOT EXISTS qoe_stream_minute
(
    `cid`                LowCardinality(String),
    `minute`             DateTime('UTC'),
    `play_requests`      SimpleAggregateFunction(sum, UInt64),
    `starts`             SimpleAggregateFunction(sum, UInt64),
    `startup_ms`         AggregateFunction(quantilesExact(0.5, 0.9, 0.99), Int64),
    `start_failures`     SimpleAggregateFunction(sum, UInt64),
    `exits_before_start` SimpleAggregateFunction(sum, UInt64),
    `errors`             SimpleAggregateFunction(sum, UInt64),
    `fatal_errors`       SimpleAggregateFunction(sum, UInt64),
    `play_ms`            SimpleAggregateFunction(sum, Int64),
    `stall_ms`           SimpleAggregateFunction(sum, Int64),
    `bitrate_play_ms`    SimpleAggregateFunction(sum, Int64),
    `viewers`            AggregateFunction(uniqExact, String),
    `latency_ms`         AggregateFunction(quantilesExact(0.5, 0.99), Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(minute)
ORDER BY (cid, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS qoe_stream_minute_mv TO qoe_stream_minute AS
SELECT
    cid,
    toStartOfMinute(occurred_at) AS minute,
    toUInt64(countIf(e = 'play_request')) AS play_requests,
    toUInt64(countIf(e = 'start')) AS starts,
    quantilesExactStateIf(0.5, 0.9, 0.99)(ifNull(q.startup_ms, 0), e = 'start' AND q.startup_ms IS NOT NULL) AS startup_ms,
    toUInt64(countIf(e = 'error' AND q.fatal AND q.before_start)) AS start_failures,
    toUInt64(countIf(e = 'end' AND q.before_start)) AS exits_before_start,
    toUInt64(countIf(e = 'error')) AS errors,
    toUInt64(countIf(e = 'error' AND q.fatal)) AS fatal_errors,
    toInt64(sumIf(ifNull(q.play_ms, 0), e = 'heartbeat')) AS play_ms,
    toInt64(sumIf(ifNull(q.stall_ms, 0), e = 'heartbeat')) AS stall_ms,
    toInt64(sumIf(ifNull(q.br, 0) * ifNull(q.play_ms, 0), e = 'heartbeat')) AS bitrate_play_ms,
    uniqExactStateIf(q.sid, e IN ('start', 'heartbeat')) AS viewers,
    quantilesExactStateIf(0.5, 0.99)(ifNull(q.ltc, 0), e = 'heartbeat' AND q.ltc IS NOT NULL) AS latency_ms
FROM qos_beacons AS q
GROUP BY cid, minute;

-- Moderation and fraud per day ----------------------------------------------------------
CREATE TABLE IF NOT EXISTS moderation_daily
(
    `day`     Date,
    `room_id` LowCardinality(String),
    `kind`    LowCardinality(String),
    `actions` UInt64
)
ENGINE = SummingMergeTree
ORDER BY (day, room_id, kind);

CREATE MATERIALIZED VIEW IF NOT EXISTS moderation_daily_mv TO moderation_daily AS
SELECT toDate(occurred_at) AS day, room_id, toString(kind) AS kind, toUInt64(count()) AS actions
FROM moderation_actions
GROUP BY day, room_id, kind;

CREATE TABLE IF NOT EXISTS fraud_daily
(
    `day`     Date,
    `rule`    LowCardinality(String),
    `outcome` LowCardinality(String),
    `shadow`  Bool,
    `alerts`  UInt64
)
ENGINE = SummingMergeTree
ORDER BY (day, rule, outcome, shadow);

CREATE MATERIALIZED VIEW IF NOT EXISTS fraud_daily_mv TO fraud_daily AS
SELECT toDate(occurred_at) AS day, rule, toString(outcome) AS outcome, shadow, toUInt64(count()) AS alerts
FROM fraud_alerts
GROUP BY day, rule, outcome, shadow;
