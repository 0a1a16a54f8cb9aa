-- name: LEDGER_EARNINGS_DAY
-- Per creator, what the ledger posted into and out of their earnings account on one UTC day
-- (posted transfers and posted second phases), defined exactly as ClickHouse's
-- creator_earnings_daily so the two can be reconciled.
WITH moves AS (
    SELECT substr(credit_account, 18) AS creator_id, amount AS credited, 0::bigint AS debited
    FROM ledger_transfers
    WHERE flags IN ('posted', 'post_pending') AND credit_account LIKE 'creator\_earnings:%%'
      AND created_at >= %(start)s AND created_at < %(end)s
    UNION ALL
    SELECT substr(debit_account, 18), 0::bigint, amount
    FROM ledger_transfers
    WHERE flags IN ('posted', 'post_pending') AND debit_account LIKE 'creator\_earnings:%%'
      AND created_at >= %(start)s AND created_at < %(end)s
)
SELECT creator_id, sum(credited)::bigint, sum(debited)::bigint, count(*)::bigint
FROM moves GROUP BY creator_id ORDER BY creator_id

-- name: PAYABLES
-- What each creator can be paid for the period ending at %(end)s: everything their earnings
-- account received before then, less what left it other than payouts (reversals, clawbacks),
-- less the payouts of earlier periods that stand (pending or paid). Creators with a payout for
-- a later period are left out by the planner (LATER_PAID): a backfill never pays twice.
WITH earned AS (
    SELECT substr(credit_account, 18) AS creator_id, amount AS coins
    FROM ledger_transfers
    WHERE flags IN ('posted', 'post_pending') AND kind <> 'payout'
      AND credit_account LIKE 'creator\_earnings:%%' AND created_at < %(end)s
    UNION ALL
    SELECT substr(debit_account, 18), -amount
    FROM ledger_transfers
    WHERE flags IN ('posted', 'post_pending') AND kind <> 'payout'
      AND debit_account LIKE 'creator\_earnings:%%' AND created_at < %(end)s
    UNION ALL
    SELECT creator_id, -coins FROM creator_payouts
    WHERE status <> 'failed' AND period < %(period)s
)
SELECT creator_id, sum(coins)::bigint FROM earned GROUP BY creator_id ORDER BY creator_id

-- name: PAYOUTS_OF_PERIOD
-- The period's payouts that stand (pending or paid); a failed one is void in the ledger.
SELECT payout_id, creator_id, coins, amount_cents, currency, status FROM creator_payouts
WHERE period = %(period)s AND status <> 'failed' ORDER BY creator_id

-- name: LATER_PAID
SELECT DISTINCT creator_id FROM creator_payouts WHERE period > %(period)s AND status <> 'failed'

-- name: FAILED_OF_PERIOD
SELECT creator_id FROM creator_payouts WHERE period = %(period)s AND status = 'failed'

-- name: RECORD_PAYOUT
INSERT INTO creator_payouts (payout_id, creator_id, period, coins, amount_cents, currency)
VALUES (%(payout_id)s, %(creator_id)s, %(period)s, %(coins)s, %(amount_cents)s, %(currency)s)
ON CONFLICT (payout_id) DO NOTHING

-- name: RECORD_EXCLUSION
INSERT INTO payout_exclusions (creator_id, period, payable, reason)
VALUES (%(creator_id)s, %(period)s, %(payable)s, %(reason)s)
ON CONFLICT (creator_id, period) DO UPDATE SET payable = excluded.payable, reason = excluded.reason, recorded_at = now()

-- name: PAYOUT
SELECT payout_id, creator_id, period, coins, amount_cents, currency, status FROM creator_payouts
WHERE payout_id = %(payout_id)s FOR UPDATE

-- name: DECIDE_PAYOUT
UPDATE creator_payouts SET status = %(status)s, provider_ref = %(provider_ref)s, failure = %(failure)s, decided_at = now()
WHERE payout_id = %(payout_id)s AND status = 'pending'

-- name: REJECT_SETTLEMENT_LINE
INSERT INTO payout_settlement_rejections (file_name, line, payout_id, reason)
VALUES (%(file_name)s, %(line)s, %(payout_id)s, %(reason)s)

-- name: GIFTS_EARNED
-- Every gift a creator earned in the period, for their statement.
SELECT t.created_at, t.reference_id, t.amount
FROM ledger_transfers t
WHERE t.flags = 'posted' AND t.kind = 'gift' AND t.credit_account = %(account)s
  AND t.created_at >= %(start)s AND t.created_at < %(end)s
ORDER BY t.seq

-- name: RECORD_CHECK_RUN
INSERT INTO payout_check_runs (period, passed, expectations, failed)
VALUES (%(period)s, %(passed)s, %(expectations)s, %(failed)s)
