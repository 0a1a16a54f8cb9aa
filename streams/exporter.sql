-- name: payout_checks
-- The latest quality-check run of each period of the last 7 days.
SELECT DISTINCT ON (period) period, passed, checked_at
FROM payout_check_runs
WHERE period >= current_date - 7
ORDER BY period, checked_at DESC

-- name: payouts_by_status
-- Payouts of the last 7 days' periods, by status (pending, paid, failed).
SELECT status, count(*)
FROM creator_payouts
WHERE period >= current_date - 7
GROUP BY status
