-- Named statements of the PostgreSQL ledger store (streams/ledger/store.py).

-- name: ensure_accounts
INSERT INTO ledger_accounts (id, asset, kind, owner, allow_negative)
SELECT * FROM unnest(%(ids)s::text[], %(assets)s::text[], %(kinds)s::text[], %(owners)s::text[], %(negative)s::boolean[])
ON CONFLICT (id) DO NOTHING;

-- name: lock_accounts
SELECT id, asset, debits_posted, credits_posted, debits_pending, credits_pending
FROM ledger_accounts WHERE id = ANY(%(ids)s::text[]) ORDER BY id FOR UPDATE;

-- name: account
SELECT id, asset, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts WHERE id = %(id)s;

-- name: insert_transfers
INSERT INTO ledger_transfers (id, posting_id, kind, flags, asset, amount, debit_account, credit_account,
                              reference_id, pending_id, reverses, expires_at)
SELECT id, posting_id, kind, flags, asset, amount, debit, credit, reference, pending, reverses, expires
FROM unnest(%(id)s::uuid[], %(posting_id)s::uuid[], %(kind)s::text[], %(flags)s::text[], %(asset)s::text[],
            %(amount)s::bigint[], %(debit)s::text[], %(credit)s::text[], %(reference)s::text[],
            %(pending)s::uuid[], %(reverses)s::uuid[], %(expires)s::timestamptz[])
     WITH ORDINALITY AS u (id, posting_id, kind, flags, asset, amount, debit, credit, reference, pending, reverses,
                           expires, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING id;

-- name: transfers_by_id
SELECT id, posting_id, kind, flags, asset, amount, debit_account, credit_account, reference_id, pending_id,
       reverses, expires_at, seq, created_at
FROM ledger_transfers WHERE id = ANY(%(ids)s::uuid[]);

-- name: resolution_of
SELECT id, flags FROM ledger_transfers WHERE pending_id = ANY(%(ids)s::uuid[]);

-- name: add_totals
UPDATE ledger_accounts AS a
SET debits_posted = a.debits_posted + d.dp, credits_posted = a.credits_posted + d.cp,
    debits_pending = a.debits_pending + d.dpe, credits_pending = a.credits_pending + d.cpe
FROM unnest(%(ids)s::text[], %(dp)s::bigint[], %(cp)s::bigint[], %(dpe)s::bigint[], %(cpe)s::bigint[])
     AS d (id, dp, cp, dpe, cpe)
WHERE a.id = d.id;

-- name: known_gifts
SELECT gift_id, request_hash, outcome, reason, posting_id, sender_balance_after, detail, creator_share, decided_at
FROM ledger_gift_outcomes WHERE gift_id = ANY(%(ids)s::uuid[]);

-- name: record_gifts
INSERT INTO ledger_gift_outcomes (gift_id, request_hash, outcome, reason, posting_id, sender_balance_after,
                                  detail, creator_share)
SELECT * FROM unnest(%(gift_id)s::uuid[], %(hash)s::text[], %(outcome)s::text[], %(reason)s::text[],
                     %(posting_id)s::uuid[], %(balance)s::bigint[], %(detail)s::text[], %(share)s::bigint[])
RETURNING gift_id, decided_at;

-- name: account_totals
SELECT id, asset, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts;

-- name: totals_from_transfers
WITH legs AS (
    SELECT t.debit_account AS id, t.flags, COALESCE(p.amount, t.amount) AS amount, -1 AS side
    FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
    UNION ALL
    SELECT t.credit_account, t.flags, COALESCE(p.amount, t.amount), 1
    FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
)
SELECT id,
       sum(CASE WHEN side = -1 AND flags IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS debits_posted,
       sum(CASE WHEN side = 1 AND flags IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS credits_posted,
       sum(CASE WHEN side = -1 THEN CASE flags WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END
                ELSE 0 END) AS debits_pending,
       sum(CASE WHEN side = 1 THEN CASE flags WHEN 'pending' THEN amount WHEN 'posted' THEN 0 ELSE -amount END
                ELSE 0 END) AS credits_pending
FROM legs GROUP BY id;

-- name: balance_at
SELECT COALESCE(sum(CASE WHEN t.credit_account = %(id)s THEN a.amount ELSE -a.amount END), 0)
FROM ledger_transfers t
JOIN LATERAL (SELECT CASE WHEN t.flags = 'post_pending' THEN p.amount ELSE t.amount END AS amount
              FROM (SELECT 1) one LEFT JOIN ledger_transfers p ON p.id = t.pending_id) a ON true
WHERE (t.debit_account = %(id)s OR t.credit_account = %(id)s)
  AND t.flags IN ('posted', 'post_pending') AND t.created_at <= %(at)s;

-- name: statement
SELECT t.seq, t.id, t.posting_id, t.kind, t.flags, t.asset,
       CASE WHEN t.flags IN ('post_pending', 'void_pending') THEN p.amount ELSE t.amount END AS amount,
       t.debit_account, t.credit_account, t.reference_id, t.created_at
FROM ledger_transfers t LEFT JOIN ledger_transfers p ON p.id = t.pending_id
WHERE (t.debit_account = %(id)s OR t.credit_account = %(id)s) AND t.seq > %(after)s
ORDER BY t.seq
LIMIT %(limit)s;

-- name: expired_pending
SELECT t.id FROM ledger_transfers t
WHERE t.flags = 'pending' AND t.expires_at <= %(now)s
  AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
ORDER BY t.expires_at LIMIT %(limit)s;

-- name: outbox_batch
SELECT o.seq, t.id, t.posting_id, t.kind, t.flags, t.asset,
       CASE WHEN t.flags IN ('post_pending', 'void_pending') THEN p.amount ELSE t.amount END AS amount,
       t.debit_account, t.credit_account, t.reference_id, t.reverses, t.created_at
FROM ledger_outbox o
JOIN ledger_transfers t ON t.id = o.transfer_id
LEFT JOIN ledger_transfers p ON p.id = t.pending_id
ORDER BY o.seq LIMIT %(limit)s;

-- name: outbox_done
DELETE FROM ledger_outbox WHERE seq = ANY(%(seqs)s::bigint[]);

-- name: outbox_present
SELECT seq FROM ledger_outbox WHERE seq = ANY(%(seqs)s::bigint[]);

-- name: outbox_backlog
SELECT count(*) FROM ledger_outbox;

-- name: relay_lock
SELECT pg_try_advisory_lock(7340002, hashtext(%(relay)s));
