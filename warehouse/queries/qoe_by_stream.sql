-- Quality of experience per stream over a range of days (live aggregates): video startup
-- time, video start failures, exits before video start, rebuffer ratio, time-weighted
-- average bitrate, live latency, peak concurrent viewers.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    stream,
    play_requests,
    startup[1] AS startup_p50_ms,
    startup[3] AS startup_p99_ms,
    round(start_failures / greatest(play_requests, 1), 4) AS video_start_failure_rate,
    round(exits_before_start / greatest(play_requests, 1), 4) AS exits_before_start_rate,
    round(stall_ms / greatest(play_ms + stall_ms, 1), 4) AS rebuffer_ratio,
    intDiv(bitrate_play_ms, greatest(play_ms, 1)) AS avg_bitrate_kbps,
    latency[1] AS latency_p50_ms,
    peak_concurrent_viewers
FROM
(
    SELECT
        cid AS stream,
        sum(play_requests) AS play_requests,
        quantilesExactMerge(0.5, 0.9, 0.99)(startup_ms) AS startup,
        sum(start_failures) AS start_failures,
        sum(exits_before_start) AS exits_before_start,
        sum(play_ms) AS play_ms,
        sum(stall_ms) AS stall_ms,
        sum(bitrate_play_ms) AS bitrate_play_ms,
        quantilesExactMerge(0.5, 0.99)(latency_ms) AS latency
    FROM qoe_stream_minute
    WHERE toDate(minute) BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY stream
) AS totals
LEFT JOIN
(
    SELECT cid AS stream, max(viewers) AS peak_concurrent_viewers
    FROM stream_concurrency_minute
    WHERE toDate(minute) BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY stream
) AS peaks USING (stream)
ORDER BY play_requests DESC, stream
