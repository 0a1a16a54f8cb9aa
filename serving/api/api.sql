-- Named statements of the HTTP API's own table: Idempotency-Key claims.

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
