-- Settled gift revenue per creator: coins sent, the creator's share, gifts and gifters.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    creator_id,
    sum(total_coins) AS coins,
    sum(creator_share_coins) AS creator_share_coins,
    sum(platform_fee_coins) AS platform_fee_coins,
    count() AS gifts,
    uniqExact(sender_id) AS gifters
FROM gift_events FINAL
WHERE event_type = 'gift.settled' AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY creator_id
ORDER BY coins DESC, creator_id
