-- Named statements of the accounts store (streams/accounts/store.py).

-- name: CREATE
INSERT INTO accounts (user_id, password_hash, roles) VALUES (%(user_id)s, %(password_hash)s, %(roles)s)
ON CONFLICT (user_id) DO NOTHING
RETURNING user_id

-- name: ACCOUNT
SELECT password_hash, roles FROM accounts WHERE user_id = %(user_id)s

-- name: REHASH
UPDATE accounts SET password_hash = %(password_hash)s WHERE user_id = %(user_id)s
