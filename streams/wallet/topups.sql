-- Top-ups as the platform knows them (the ledger holds the money; these rows hold who and how
-- much), and the payment provider's notices by id.

-- name: record_topup
INSERT INTO wallet_topups (topup_id, user_id, amount_cents, currency, coins, payment_instrument_id)
VALUES (%(topup_id)s, %(user_id)s, %(amount_cents)s, %(currency)s, %(coins)s, %(instrument)s)
ON CONFLICT (topup_id) DO NOTHING;

-- name: topup
SELECT topup_id, user_id, amount_cents, currency, coins, payment_instrument_id FROM wallet_topups
WHERE topup_id = %(topup_id)s;

-- name: claim_webhook
INSERT INTO payment_webhook_events (id, type, topup_id) VALUES (%(id)s, %(type)s, %(topup_id)s)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: webhook_seen
SELECT type, topup_id, completed_at IS NOT NULL FROM payment_webhook_events WHERE id = %(id)s;

-- name: complete_webhook
UPDATE payment_webhook_events SET completed_at = now() WHERE id = %(id)s AND completed_at IS NULL;
