-- Idempotency-Key records of the HTTP API (Stripe semantics): the first request with a key
-- claims it; a repeat with the same body replays the stored response, with another body is
-- refused (422), and while the first is still running gets 409.
CREATE TABLE api_idempotency (
    principal     text NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    endpoint      text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (principal, key)
);

-- Payment provider webhooks already applied, by the provider's event id (replays refused).
CREATE TABLE payment_webhook_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    topup_id     uuid NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Top-ups as the API knows them (the ledger holds the money; this holds who and how much).
CREATE TABLE wallet_topups (
    topup_id               uuid PRIMARY KEY,
    user_id                text NOT NULL,
    amount_cents           bigint NOT NULL CHECK (amount_cents > 0),
    currency               text NOT NULL,
    coins                  bigint NOT NULL CHECK (coins > 0),
    payment_instrument_id  text NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now()
);
