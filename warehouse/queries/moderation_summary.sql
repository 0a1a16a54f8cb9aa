-- Moderation actions per day, room and kind (live aggregates).
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT day, room_id, kind, sum(actions) AS actions
FROM moderation_daily
WHERE day BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY day, room_id, kind
ORDER BY day, actions DESC, room_id, kind
