-- Per room: viewers who joined, how many of them sent a settled gift, and the conversion rate.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
WITH
    viewers AS (
        SELECT room_id, uniqExact(user_id) AS viewers
        FROM presence_events FINAL
        WHERE event_type = 'presence.joined' AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
        GROUP BY room_id
    ),
    gifters AS (
        SELECT room_id, uniqExact(sender_id) AS gifters
        FROM gift_events FINAL
        WHERE event_type = 'gift.settled' AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
        GROUP BY room_id
    )
SELECT
    v.room_id AS room_id,
    v.viewers AS viewers,
    ifNull(g.gifters, 0) AS gifters,
    round(ifNull(g.gifters, 0) / v.viewers, 4) AS conversion
FROM viewers AS v
LEFT JOIN gifters AS g ON g.room_id = v.room_id
ORDER BY conversion DESC, room_id
