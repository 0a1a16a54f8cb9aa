-- Every run of the payout batch's Great Expectations check (orchestration/definitions.py), so
-- the exporter can alert when a day's batch is blocked: append-only, the latest per period wins.
CREATE TABLE payout_check_runs (
    id            bigserial PRIMARY KEY,
    period        date NOT NULL,
    passed        boolean NOT NULL,
    expectations  integer NOT NULL,
    failed        jsonb NOT NULL DEFAULT '[]',
    checked_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payout_check_runs_period ON payout_check_runs (period, checked_at DESC);
