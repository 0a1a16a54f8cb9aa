-- The ledger of record. Double-entry, append-only, integers only.
--
-- Accounts hold running totals of the transfers that touched them (TigerBeetle style):
-- balance = credits_posted - debits_posted. User wallets and creator earnings may never be
-- overdrawn, counting what pending transfers have reserved: the CHECK below enforces it in the
-- database, whatever the application does. System accounts (issuance, clearing, revenue,
-- payouts) may go negative; per asset, the sum of all balances is always zero.
CREATE TABLE ledger_accounts (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z_]+:[A-Za-z0-9_.:-]+$'),
    asset            text NOT NULL,
    kind             text NOT NULL,
    owner            text NOT NULL,
    allow_negative   boolean NOT NULL DEFAULT false,
    debits_posted    bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted   bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending   bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending  bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT no_overdraft CHECK (allow_negative OR credits_posted - debits_posted - debits_pending >= 0)
);

-- Every transfer ever made; rows are never updated or deleted (trigger below).
-- The account columns carry no foreign key: the store locks both accounts and updates their
-- totals in the same transaction, failing when an account row is missing, and a foreign key
-- check per leg cost a third of settlement throughput (bench-ledger). The reconciliation
-- query (totals recomputed from transfers = account totals) is the independent check.
-- flags: posted (single-phase), pending, post_pending / void_pending (resolve a pending one).
CREATE TABLE ledger_transfers (
    seq             bigserial UNIQUE,
    id              uuid PRIMARY KEY,
    posting_id      uuid NOT NULL,
    kind            text NOT NULL,
    flags           text NOT NULL CHECK (flags IN ('posted', 'pending', 'post_pending', 'void_pending')),
    asset           text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    debit_account   text NOT NULL,
    credit_account  text NOT NULL,
    reference_id    text NOT NULL,
    pending_id      uuid REFERENCES ledger_transfers (id),
    reverses        uuid REFERENCES ledger_transfers (id),
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (debit_account <> credit_account),
    CHECK ((flags IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL))
);
-- A pending transfer is resolved at most once.
CREATE UNIQUE INDEX ledger_transfers_one_resolution ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
-- A transfer is reversed at most once.
CREATE UNIQUE INDEX ledger_transfers_one_reversal ON ledger_transfers (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, seq);
CREATE INDEX ledger_transfers_posting ON ledger_transfers (posting_id);
CREATE INDEX ledger_transfers_pending_expiry ON ledger_transfers (expires_at) WHERE flags = 'pending';

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_transfers is append-only: correct with a reversing transfer';
END $$;
CREATE TRIGGER ledger_transfers_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The outcome of each gift, by gift id: settling the same gift again returns this row.
CREATE TABLE ledger_gift_outcomes (
    gift_id               uuid PRIMARY KEY,
    request_hash          text NOT NULL,
    outcome               text NOT NULL CHECK (outcome IN ('settled', 'rejected')),
    reason                text,
    posting_id            uuid,
    sender_balance_after  bigint,
    decided_at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Outbox: every transfer, in commit order, for the relay that publishes ledger.postings.
-- Written in the same transaction as the transfer (by trigger, so no code path can forget).
CREATE TABLE ledger_outbox (
    seq          bigserial PRIMARY KEY,
    transfer_id  uuid NOT NULL UNIQUE
);
CREATE FUNCTION ledger_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_outbox (transfer_id) SELECT id FROM new_rows ORDER BY seq;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_transfers_outbox
    AFTER INSERT ON ledger_transfers REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_enqueue();
