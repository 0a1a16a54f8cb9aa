-- The apps' ClickHouse queries (serving/api/warehouse_reads.py), bound by the server.

-- name: LIVE_STREAMS
-- Streams started and not ended in the last day, with the latest occupancy of their room.
SELECT s.stream_id AS stream_id, s.creator_id AS creator_id, s.room_id AS room_id,
       s.started_at AS started_at, ifNull(o.viewers, 0) AS viewers
FROM
(
    SELECT stream_id,
           argMax(creator_id, occurred_at) AS creator_id,
           argMax(room_id, occurred_at) AS room_id,
           maxIf(occurred_at, event_type = 'stream.started') AS started_at,
           maxIf(occurred_at, event_type = 'stream.ended') AS ended_at
    FROM stream_lifecycle
    WHERE occurred_at >= now64(3) - INTERVAL 1 DAY AND event_type IN ('stream.started', 'stream.ended')
    GROUP BY stream_id
    HAVING started_at > ended_at
) AS s
LEFT JOIN
(
    SELECT room_id, argMax(viewers, occurred_at) AS viewers
    FROM room_occupancy
    WHERE occurred_at >= now64(3) - INTERVAL 2 MINUTE
    GROUP BY room_id
) AS o ON o.room_id = s.room_id
ORDER BY viewers DESC, started_at DESC
LIMIT {limit:UInt32}

-- name: CREATOR_EARNINGS_DAYS
-- One creator's earnings per day (one row per posted transfer underneath, so exact).
SELECT day, sum(credited) AS earned, sum(debited) AS paid_out, earned - paid_out AS net, sum(postings) AS transfers
FROM creator_earnings_daily FINAL
WHERE creator_id = {creator_id:String} AND day >= today() - {days:UInt32} AND asset = 'COINS'
GROUP BY day
ORDER BY day DESC

-- name: STREAM_LIVE_STATS
-- The last {minutes} minutes of one stream: its viewers' QoE and its room's engagement, one read
-- of each aggregate.
SELECT q.play_requests, q.startup_p50_ms, q.rebuffer_ratio, q.latency_p50_ms,
       e.messages, e.gifts, e.gift_coins, e.peak_viewers
FROM
(
    SELECT sum(play_requests) AS play_requests,
           quantilesExactMerge(0.5, 0.9, 0.99)(startup_ms)[1] AS startup_p50_ms,
           round(sum(stall_ms) / greatest(sum(play_ms) + sum(stall_ms), 1), 4) AS rebuffer_ratio,
           quantilesExactMerge(0.5, 0.99)(latency_ms)[1] AS latency_p50_ms
    FROM qoe_stream_minute
    WHERE cid = {stream_id:String} AND minute >= now() - toIntervalMinute({minutes:UInt32})
) AS q
CROSS JOIN
(
    SELECT sum(messages) AS messages, sum(gifts) AS gifts, sum(gift_coins) AS gift_coins,
           max(peak_viewers) AS peak_viewers
    FROM room_engagement_minute
    WHERE room_id = {room_id:String} AND minute >= now() - toIntervalMinute({minutes:UInt32})
) AS e
