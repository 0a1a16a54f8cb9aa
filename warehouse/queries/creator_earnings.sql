-- Creator earnings per day from ledger postings (live, one row per posted transfer, so a
-- transfer written twice counts once): credited by gifts, debited by payouts and reversals, and the net.
-- param from_day: first UTC day (inclusive)
-- param to_day: last UTC day (inclusive)
SELECT creator_id, day, asset, credited, debited, credited - debited AS net, postings
FROM
(
    SELECT creator_id, day, asset, sum(credited) AS credited, sum(debited) AS debited, sum(postings) AS postings
    FROM creator_earnings_daily FINAL
    WHERE day BETWEEN {from_day:Date} AND {to_day:Date}
    GROUP BY creator_id, day, asset
)
ORDER BY creator_id, day, asset
