-- One room's engagement minute by minute (live aggregates).
-- param room: the room id
-- param day: the UTC day
SELECT
    minute,
    sum(messages) AS messages,
    uniqExactMerge(chatters) AS chatters,
    sum(reactions) AS reactions,
    sum(gifts) AS gifts,
    sum(gift_coins) AS gift_coins,
    max(peak_viewers) AS peak_viewers
FROM room_engagement_minute
WHERE room_id = {room:String}
  AND minute >= toDateTime({day:Date}, 'UTC') AND minute < toDateTime({day:Date}, 'UTC') + INTERVAL 1 DAY
GROUP BY minute
ORDER BY minute
