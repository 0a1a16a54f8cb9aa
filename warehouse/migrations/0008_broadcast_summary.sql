-- Concurrent viewers per stream per minute (playback sessions that started or sent a
-- heartbeat), merged: what peak-concurrency questions take the max of.
CREATE VIEW IF NOT EXISTS stream_concurrency_minute AS
SELECT cid, minute, uniqExactMerge(viewers) AS viewers
FROM qoe_stream_minute
GROUP BY cid, minute;

-- One row per broadcast (a stream from stream.started to stream.ended, or to now while live):
-- the room's engagement and revenue while it was on air, joined with the stream's QoE.
-- Chat, reactions and gifts are keyed by room, QoE by stream (CMCD cid = stream_id); the
-- view joins both on the broadcast's minutes. Read it with a WHERE on started_at.
CREATE VIEW IF NOT EXISTS broadcast_summary AS
WITH
    broadcasts AS
    (
        SELECT stream_id, epoch,
               any(creator_id) AS creator_id, any(room_id) AS room_id,
               minIf(occurred_at, event_type = 'stream.started') AS started_at,
               maxIf(occurred_at, event_type = 'stream.ended') AS ended_raw,
               if(ended_raw = toDateTime64(0, 3, 'UTC'), NULL, ended_raw) AS ended_at,
               anyIf(reason, event_type = 'stream.ended') AS end_reason
        FROM stream_lifecycle
        WHERE event_type IN ('stream.started', 'stream.ended')
        GROUP BY stream_id, epoch
        HAVING started_at > toDateTime64(0, 3, 'UTC')
    ),
    engagement AS
    (
        SELECT b.stream_id AS stream_id, b.epoch AS epoch,
               sum(e.messages) AS messages, uniqExactMerge(e.chatters) AS chatters,
               sum(e.reactions) AS reactions, sum(e.gifts) AS gifts, sum(e.gift_coins) AS gift_coins,
               max(e.peak_viewers) AS peak_room_viewers
        FROM broadcasts AS b
        INNER JOIN room_engagement_minute AS e ON e.room_id = b.room_id
        WHERE e.minute >= toStartOfMinute(b.started_at)
          AND e.minute <= toStartOfMinute(ifNull(b.ended_at, now64(3)))
        GROUP BY stream_id, epoch
    ),
    qoe AS
    (
        SELECT stream_id, epoch,
               sum(play_requests) AS play_requests, sum(starts) AS starts,
               sum(start_failures) AS start_failures,
               toInt64(quantilesExactMerge(0.5, 0.9, 0.99)(startup_ms)[1]) AS startup_p50_ms,
               sum(stall_ms) AS stall_ms, sum(play_ms) AS play_ms,
               max(minute_viewers) AS peak_concurrent_viewers
        FROM
        (
            SELECT b.stream_id AS stream_id, b.epoch AS epoch, q.minute AS minute,
                   sum(q.play_requests) AS play_requests, sum(q.starts) AS starts,
                   sum(q.start_failures) AS start_failures,
                   quantilesExactMergeState(0.5, 0.9, 0.99)(q.startup_ms) AS startup_ms,
                   sum(q.stall_ms) AS stall_ms, sum(q.play_ms) AS play_ms,
                   uniqExactMerge(q.viewers) AS minute_viewers
            FROM broadcasts AS b
            INNER JOIN qoe_stream_minute AS q ON q.cid = b.stream_id
            WHERE q.minute >= toStartOfMinute(b.started_at)
              AND q.minute <= toStartOfMinute(ifNull(b.ended_at, now64(3)))
            GROUP BY stream_id, epoch, minute
        )
        GROUP BY stream_id, epoch
    )
SELECT
    b.stream_id AS stream_id, b.epoch AS epoch, b.creator_id AS creator_id, b.room_id AS room_id,
    b.started_at AS started_at, b.ended_at AS ended_at, b.end_reason AS end_reason,
    e.messages AS messages, e.chatters AS chatters, e.reactions AS reactions,
    e.gifts AS gifts, e.gift_coins AS gift_coins, e.peak_room_viewers AS peak_room_viewers,
    q.play_requests AS play_requests, q.starts AS starts,
    if(q.play_requests = 0, 0, round(q.start_failures / q.play_requests, 4)) AS video_start_failure_rate,
    q.startup_p50_ms AS startup_p50_ms,
    if(q.play_ms + q.stall_ms = 0, 0, round(q.stall_ms / (q.play_ms + q.stall_ms), 4)) AS rebuffer_ratio,
    q.peak_concurrent_viewers AS peak_concurrent_viewers
FROM broadcasts AS b
LEFT JOIN engagement AS e ON e.stream_id = b.stream_id AND e.epoch = b.epoch
LEFT JOIN qoe AS q ON q.stream_id = b.stream_id AND q.epoch = b.epoch
SETTINGS join_use_nulls = 0;
