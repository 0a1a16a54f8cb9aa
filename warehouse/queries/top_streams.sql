-- The most engaged rooms of a day (live aggregates): messages, chatters, reactions, gifts, peak viewers.
-- param day: the UTC day
-- param limit: how many rooms
SELECT
    room_id,
    sum(messages) AS messages,
    uniqExactMerge(chatters) AS chatters,
    sum(reactions) AS reactions,
    sum(gifts) AS gifts,
    sum(gift_coins) AS gift_coins,
    max(peak_viewers) AS peak_viewers
FROM room_engagement_daily
WHERE day = {day:Date}
GROUP BY room_id
ORDER BY gift_coins DESC, messages DESC, room_id
LIMIT {limit:UInt32}
