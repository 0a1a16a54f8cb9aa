-- Named statements of the HTTP API's own tables (idempotency, webhooks, top-ups).

-- name: claim
-- A claim left unfinished for longer than claim_ttl_s (its API process died mid-request) is
-- taken over by a retry of the same request; anything else keeps the first claim.
INSERT INTO api_idempotency (principal, key, endpoint, request_hash)
VALUES (%(principal)s, %(key)s, %(endpoint)s, %(hash)s)
ON CONFLICT (principal, key) DO UPDATE SET created_at = now()
WHERE api_idempotency.status_code IS NULL
  AND api_idempotency.endpoint = EXCLUDED.endpoint
  AND api_idempotency.request_hash = EXCLUDED.request_hash
  AND api_idempotency.created_at < now() - make_interval(secs => %(claim_ttl_s)s)
RETURNING key;

-- name: lookup
SELECT endpoint, request_hash, status_code, response FROM api_idempotency WHERE principal = %(principal)s AND key = %(key)s;

-- name: release
DELETE FROM api_idempotency WHERE principal = %(principal)s AND key = %(key)s AND status_code IS NULL;

-- name: complete
UPDATE api_idempotency SET status_code = %(status)s, response = %(response)s, completed_at = now()
WHERE principal = %(principal)s AND key = %(key)s;

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
