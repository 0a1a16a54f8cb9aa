-- Settled gift revenue per gift type, and how often each type was rejected.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT
    gift_sku,
    countIf(event_type = 'gift.settled') AS gifts,
    sumIf(quantity, event_type = 'gift.settled') AS items,
    sumIf(total_coins, event_type = 'gift.settled') AS coins,
    countIf(event_type = 'gift.rejected') AS rejected
FROM gift_events FINAL
WHERE event_type IN ('gift.settled', 'gift.rejected') AND toDate(occurred_at) BETWEEN {from_day:Date} AND {to_day:Date}
GROUP BY gift_sku
ORDER BY coins DESC, gift_sku
