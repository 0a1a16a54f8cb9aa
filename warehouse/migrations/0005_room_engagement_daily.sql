-- Per room per day engagement, rolled up from the per-minute view as minutes arrive, so the
-- daily dashboards (top_streams) read one row per room instead of 1,440.
CREATE TABLE IF NOT EXISTS room_engagement_daily
(
    `room_id`      LowCardinality(String),
    `day`          Date,
    `messages`     SimpleAggregateFunction(sum, UInt64),
    `chatters`     AggregateFunction(uniqExact, String),
    `reactions`    SimpleAggregateFunction(sum, UInt64),
    `gifts`        SimpleAggregateFunction(sum, UInt64),
    `gift_coins`   SimpleAggregateFunction(sum, Int64),
    `peak_viewers` SimpleAggregateFunction(max, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, room_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS room_engagement_daily_mv TO room_engagement_daily AS
SELECT room_id, toDate(minute) AS day,
       sum(messages) AS messages, uniqExactMergeState(chatters) AS chatters, sum(reactions) AS reactions,
       sum(gifts) AS gifts, sum(gift_coins) AS gift_coins, max(peak_viewers) AS peak_viewers
FROM room_engagement_minute
GROUP BY room_id, day;

-- Backfill what the per-minute view already holds (run while the sink is stopped).
INSERT INTO room_engagement_daily
SELECT room_id, toDate(minute) AS day,
       sum(messages), uniqExactMergeState(chatters), sum(reactions), sum(gifts), sum(gift_coins), max(peak_viewers)
FROM room_engagement_minute
GROUP BY room_id, day;
