-- Why chat messages were rejected, per reason, over a range of days.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    reason,
    count() AS rejected,
    uniqExact(user_id) AS users,
    uniqExact(room_id) AS rooms
FROM chat_events FINAL
WHERE event_type = 'chat.message.rejected' AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY reason
ORDER BY rejected DESC
