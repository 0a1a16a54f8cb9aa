-- A gift's outcome is decided once and replayed as it was: refusals made before the ledger
-- (catalog, room standing, fraud block, an analyst's denial) are recorded here too, with their
-- detail, and the creator's share is kept so a replay never recomputes it under other settings.
-- decided_at becomes the outcome event's occurred_at, so a redelivered outcome is the same row.
ALTER TABLE ledger_gift_outcomes ADD COLUMN detail text NOT NULL DEFAULT '';
ALTER TABLE ledger_gift_outcomes ADD COLUMN creator_share bigint;

-- The fraud agent's decision per gift, made once: a redelivered request gets this decision
-- back instead of being screened again against counters that have moved on since.
CREATE TABLE fraud_gift_screenings (
    gift_id      uuid PRIMARY KEY,
    decision     text NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
    rules        text[] NOT NULL,
    screened_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
