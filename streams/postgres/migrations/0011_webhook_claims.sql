-- A provider event id is claimed (with its type and top-up) before its ledger operation runs,
-- and completed once the outcome is on Kafka: the same id sent again as another type can no
-- longer slip in while the first is still being applied.
ALTER TABLE payment_webhook_events ADD COLUMN completed_at timestamptz;
-- Rows written before this migration were recorded only after they were applied and published.
UPDATE payment_webhook_events SET completed_at = received_at;
