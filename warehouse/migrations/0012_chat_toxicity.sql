-- The moderation agent's toxicity classifier (streams/rooms/toxicity.py): its score on each
-- decision, what it would have done in a room where it runs in shadow mode, and a new
-- refusal reason. Appending an Enum8 value and adding nullable columns are metadata-only.
ALTER TABLE chat_events ADD COLUMN IF NOT EXISTS `toxicity` Nullable(Float64) AFTER released_by;
ALTER TABLE chat_events ADD COLUMN IF NOT EXISTS `toxicity_shadow` LowCardinality(Nullable(String)) AFTER toxicity;
ALTER TABLE chat_events MODIFY COLUMN `reason` Nullable(Enum8('rate_limited' = 1, 'slow_mode' = 2, 'emote_only' = 3, 'duplicate' = 4, 'link_blocked' = 5, 'banned_term' = 6, 'banned' = 7, 'timed_out' = 8, 'held_denied' = 9, 'room_closed' = 10, 'toxic' = 11));
