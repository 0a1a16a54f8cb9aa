-- Chat per room per hour: accepted messages, unique chatters, held and rejected.
-- param day: the UTC day
SELECT
    room_id,
    toStartOfHour(occurred_at) AS hour,
    countIf(event_type = 'chat.message.accepted') AS accepted,
    uniqExactIf(user_id, event_type = 'chat.message.accepted') AS chatters,
    countIf(event_type = 'chat.message.held') AS held,
    countIf(event_type = 'chat.message.rejected') AS rejected,
    countIf(event_type = 'chat.message.deleted') AS deleted
FROM chat_events FINAL
WHERE toDate(occurred_at) = {day:Date}
GROUP BY room_id, hour
ORDER BY room_id, hour
