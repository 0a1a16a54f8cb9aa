-- A deduplicated insert into a raw table is still pushed to its materialized views; each
-- view's target table drops the repeated block only if it keeps its own deduplication window.
ALTER TABLE room_engagement_minute MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE creator_earnings_daily MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE qoe_stream_minute MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE moderation_daily MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE fraud_daily MODIFY SETTING non_replicated_deduplication_window = 1000;
