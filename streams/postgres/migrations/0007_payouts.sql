-- Creator payouts, one per creator per period (a UTC day), never two: the payout id is derived
-- from (creator, period) and the pair is unique. The money moves in the ledger (a pending
-- transfer from the creator's earnings to payout clearing, posted when the provider confirms,
-- voided on failure); this table is finance's view of each payout's lifecycle.
CREATE TABLE creator_payouts (
    payout_id     uuid PRIMARY KEY,
    creator_id    text NOT NULL,
    period        date NOT NULL,
    coins         bigint NOT NULL CHECK (coins > 0),
    amount_cents  bigint NOT NULL CHECK (amount_cents > 0),
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
    provider_ref  text,
    failure       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    UNIQUE (creator_id, period)
);

-- Creators left out of a period's batch, and why (below the minimum, nothing payable after
-- chargebacks): finance can answer "why was I not paid".
CREATE TABLE payout_exclusions (
    creator_id  text NOT NULL,
    period      date NOT NULL,
    payable     bigint NOT NULL,
    reason      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, period)
);

-- Settlement-file lines that were refused (unknown payout, wrong amount): nothing was posted.
CREATE TABLE payout_settlement_rejections (
    id          bigserial PRIMARY KEY,
    file_name   text NOT NULL,
    line        integer NOT NULL,
    payout_id   text,
    reason      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
