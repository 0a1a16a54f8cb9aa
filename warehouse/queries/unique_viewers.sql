-- Unique viewers and playback sessions per stream over a range of days, with peak concurrency.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    cid AS stream,
    uniqExact(viewer_id) AS unique_viewers,
    uniqExact(sid) AS sessions,
    countIf(e = 'start') AS starts
FROM qos_beacons
WHERE toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY stream
ORDER BY unique_viewers DESC, stream
