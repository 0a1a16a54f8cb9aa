-- Receipts of the synthetic canary (ops.probes): one row per probe, idempotent by event id.
-- The canary proves a Kafka -> Faust -> PostgreSQL transaction path end to end.
CREATE TABLE probe_receipts (
    event_id     uuid PRIMARY KEY,
    run_id       text NOT NULL,
    seq          integer NOT NULL CHECK (seq >= 0),
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    consumer     text NOT NULL
);
CREATE INDEX probe_receipts_run ON probe_receipts (run_id, seq);
