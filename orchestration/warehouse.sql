-- name: WAREHOUSE_EARNINGS_DAY
-- Per creator, the day's postings into and out of their earnings account as the warehouse holds
-- them, read from the raw table with FINAL: the same posting written twice (a retried sink, a
-- replayed relay) must not look like a second posting here. Same definition as the live
-- aggregate creator_earnings_daily and as the ledger-side LEDGER_EARNINGS_DAY (finance.sql).
SELECT creator_id, toInt64(sum(credited)), toInt64(sum(debited)), toInt64(count())
FROM
(
    SELECT
        if(startsWith(credit_account, 'creator_earnings:'), substring(credit_account, 18), substring(debit_account, 18)) AS creator_id,
        if(startsWith(credit_account, 'creator_earnings:'), amount, 0) AS credited,
        if(startsWith(debit_account, 'creator_earnings:'), amount, 0) AS debited
    FROM ledger_postings FINAL
    WHERE state = 'posted' AND asset = 'COINS'
      AND toDate(occurred_at) = {day:Date} AND toDate(posted_at) = {day:Date}
      AND (startsWith(credit_account, 'creator_earnings:') OR startsWith(debit_account, 'creator_earnings:'))
)
GROUP BY creator_id
ORDER BY creator_id
