-- Unique viewers and playback sessions per stream over a range of days, with peak concurrency
-- (the busiest minute's playback sessions that started or sent a heartbeat). Exact without FINAL:
-- the sink writes each beacon id once.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    q.stream AS stream,
    q.unique_viewers AS unique_viewers,
    q.sessions AS sessions,
    q.starts AS starts,
    ifNull(p.peak_concurrent_viewers, 0) AS peak_concurrent_viewers
FROM
(
    SELECT cid AS stream, uniqExact(viewer_id) AS unique_viewers, uniqExact(sid) AS sessions,
           countIf(e = 'start') AS starts
    FROM qos_beacons
    WHERE toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY stream
) AS q
LEFT JOIN
(
    SELECT cid AS stream, max(viewers) AS peak_concurrent_viewers
    FROM stream_concurrency_minute
    WHERE toDate(minute) BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY stream
) AS p ON p.stream = q.stream
ORDER BY unique_viewers DESC, stream
