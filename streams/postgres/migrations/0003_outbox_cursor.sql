-- How far each outbox relay has published (its outbox.seq), advanced after the broker acknowledged.
CREATE TABLE ledger_outbox_cursor (
    relay       text PRIMARY KEY,
    seq         bigint NOT NULL CHECK (seq >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
