-- Playback quality per rendition and browser family: startup time, rebuffer ratio, errors.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    ifNull(rendition, 'unknown') AS rendition,
    multiIf(
        user_agent ILIKE '%Edg/%', 'Edge',
        user_agent ILIKE '%Chrome/%', 'Chrome',
        user_agent ILIKE '%Firefox/%', 'Firefox',
        user_agent ILIKE '%Safari/%', 'Safari',
        'other'
    ) AS browser,
    uniqExact(sid) AS sessions,
    quantileExactIf(0.5)(startup_ms, e = 'start') AS startup_p50_ms,
    quantileExactIf(0.9)(startup_ms, e = 'start') AS startup_p90_ms,
    round(sumIf(stall_ms, e = 'heartbeat') / greatest(sumIf(play_ms, e = 'heartbeat') + sumIf(stall_ms, e = 'heartbeat'), 1), 4) AS rebuffer_ratio,
    countIf(e = 'error') AS errors
FROM qos_beacons FINAL
WHERE toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY rendition, browser
ORDER BY sessions DESC, rendition, browser
