-- Per broadcast started in a range of days: the room's chat, reactions and gift revenue while it
-- was on air, with the stream's QoE (plays, start failures, startup p50, rebuffer ratio, peak
-- concurrent viewers). Reads the broadcast_summary view.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT *
FROM broadcast_summary
WHERE toDate(started_at) BETWEEN {from_day:Date} AND {to_day:Date}
ORDER BY gift_coins DESC, started_at, stream_id
