-- Trace ids (streams/tracing.py): the sink writes each record's traceparent trace id, '' when it had none.
ALTER TABLE chat_events ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE reactions ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE reaction_bursts ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE presence_events ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE room_occupancy ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE gift_events ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE topups ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE ledger_postings ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE payouts ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE qos_beacons ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE stream_lifecycle ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE moderation_actions ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE fraud_alerts ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
ALTER TABLE ops_alerts ADD COLUMN IF NOT EXISTS _trace_id String DEFAULT '' AFTER _offset;
