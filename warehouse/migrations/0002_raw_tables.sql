-- Raw tables, one per contract family, generated from the contracts by `python -m warehouse ddl`.
-- Rows are collapsed by event_id (ReplacingMergeTree); the sink never writes an offset twice.

-- Every chat message as submitted, and what moderation decided (accepted, held, rejected) or deleted.
CREATE TABLE IF NOT EXISTS chat_events
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `message_id`     UUID,
    `room_id`        LowCardinality(String),
    `user_id`        Nullable(String),
    `user_role`      Nullable(Enum8('viewer' = 1, 'creator' = 2, 'moderator' = 3, 'analyst' = 4, 'finance' = 5, 'admin' = 6)),
    `display_name`   Nullable(String),
    `text`           Nullable(String),
    `released_by`    Nullable(String),
    `score`          Nullable(Float64),
    `held_reason`    Nullable(String),
    `reason`         Nullable(Enum8('rate_limited' = 1, 'slow_mode' = 2, 'emote_only' = 3, 'duplicate' = 4, 'link_blocked' = 5, 'banned_term' = 6, 'banned' = 7, 'timed_out' = 8, 'held_denied' = 9, 'room_closed' = 10)),
    `detail`         Nullable(String),
    `retry_after_ms` Nullable(Int64),
    `deleted_by`     Nullable(String),
    `delete_reason`  Nullable(String),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, event_type, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Every reaction tap.
CREATE TABLE IF NOT EXISTS reactions
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `room_id`        LowCardinality(String),
    `user_id`        String,
    `reaction`       Enum8('heart' = 1, 'laugh' = 2, 'wow' = 3, 'clap' = 4, 'fire' = 5, 'sad' = 6),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Reactions coalesced per room over ~250 ms windows, as sent to clients.
CREATE TABLE IF NOT EXISTS reaction_bursts
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `room_id`        LowCardinality(String),
    `window_start`   DateTime64(3, 'UTC'),
    `window_end`     DateTime64(3, 'UTC'),
    `counts`         Map(LowCardinality(String), Int64),
    `unique_users`   Int64,
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Viewers joining and leaving rooms, per gateway node.
CREATE TABLE IF NOT EXISTS presence_events
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `room_id`        LowCardinality(String),
    `user_id`        String,
    `session_id`     String,
    `node_id`        LowCardinality(String),
    `reason`         Nullable(Enum8('left' = 1, 'disconnected' = 2, 'expired' = 3, 'kicked' = 4)),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Occupancy snapshots per room (at most every ~2 s while it changes).
CREATE TABLE IF NOT EXISTS room_occupancy
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `room_id`        LowCardinality(String),
    `viewers`        Int64,
    `connections`    Int64,
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Gift funnel: requested, then settled (with the ledger split) or rejected (with the reason).
CREATE TABLE IF NOT EXISTS gift_events
(
    `event_id`             UUID,
    `event_type`           LowCardinality(String),
    `schema_version`       UInt16,
    `occurred_at`          DateTime64(3, 'UTC'),
    `producer`             LowCardinality(String),
    `gift_id`              UUID,
    `sender_id`            String,
    `creator_id`           LowCardinality(String),
    `room_id`              LowCardinality(String),
    `gift_sku`             LowCardinality(String),
    `quantity`             Nullable(Int64),
    `unit_price_coins`     Nullable(Int64),
    `total_coins`          Int64,
    `device_id`            Nullable(String),
    `ip`                   Nullable(String),
    `creator_share_coins`  Nullable(Int64),
    `platform_fee_coins`   Nullable(Int64),
    `transfer_id`          Nullable(UUID),
    `sender_balance_after` Nullable(Int64),
    `reason`               Nullable(Enum8('insufficient_funds' = 1, 'fraud_block' = 2, 'fraud_review' = 3, 'sender_banned' = 4, 'unknown_gift' = 5, 'unknown_creator' = 6, 'self_gift' = 7)),
    `detail`               Nullable(String),
    `_topic`               LowCardinality(String),
    `_partition`           UInt16,
    `_offset`              UInt64,
    `_ingested_at`         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (creator_id, event_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Wallet top-up lifecycle: pending, captured or failed, refunded or charged back.
CREATE TABLE IF NOT EXISTS topups
(
    `event_id`              UUID,
    `event_type`            LowCardinality(String),
    `schema_version`        UInt16,
    `occurred_at`           DateTime64(3, 'UTC'),
    `producer`              LowCardinality(String),
    `topup_id`              UUID,
    `user_id`               String,
    `amount_cents`          Nullable(Int64),
    `currency`              LowCardinality(Nullable(String)),
    `coins`                 Nullable(Int64),
    `payment_instrument_id` Nullable(String),
    `device_id`             Nullable(String),
    `ip`                    Nullable(String),
    `provider_ref`          Nullable(String),
    `transfer_id`           Nullable(UUID),
    `reason`                Nullable(String),
    `kind`                  Nullable(Enum8('refund' = 1, 'chargeback' = 2)),
    `coins_clawed_back`     Nullable(Int64),
    `debt_coins`            Nullable(Int64),
    `_topic`                LowCardinality(String),
    `_partition`            UInt16,
    `_offset`               UInt64,
    `_ingested_at`          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (event_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Every ledger transfer leg, published from the PostgreSQL outbox (one row per transfer id).
CREATE TABLE IF NOT EXISTS ledger_postings
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `transfer_id`    UUID,
    `posting_id`     UUID,
    `kind`           Enum8('topup' = 1, 'gift' = 2, 'gift_fee' = 3, 'payout' = 4, 'refund' = 5, 'chargeback' = 6, 'reversal' = 7, 'adjustment' = 8),
    `state`          Enum8('pending' = 1, 'posted' = 2, 'voided' = 3),
    `asset`          Enum8('COINS' = 1, 'USD_CENTS' = 2, 'EUR_CENTS' = 3, 'GBP_CENTS' = 4),
    `amount`         Int64,
    `debit_account`  String,
    `credit_account` String,
    `reference_id`   String,
    `posted_at`      DateTime64(3, 'UTC'),
    `reverses`       Nullable(UUID),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (kind, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Creator payout lifecycle: pending, paid or failed.
CREATE TABLE IF NOT EXISTS payouts
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `payout_id`      UUID,
    `creator_id`     LowCardinality(String),
    `period_start`   Date,
    `period_end`     Date,
    `amount_cents`   Int64,
    `currency`       LowCardinality(String),
    `provider_ref`   Nullable(String),
    `reason`         Nullable(String),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (creator_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Player QoS beacons (CMCD v2 names) per playback session.
CREATE TABLE IF NOT EXISTS qos_beacons
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `e`              Enum8('play_request' = 1, 'start' = 2, 'stall_start' = 3, 'stall_end' = 4, 'bitrate_switch' = 5, 'error' = 6, 'heartbeat' = 7, 'end' = 8),
    `sid`            String,
    `cid`            LowCardinality(String),
    `sn`             Int64,
    `ts`             Int64,
    `viewer_id`      Nullable(String),
    `br`             Nullable(Int64),
    `bl`             Nullable(Int64),
    `mtp`            Nullable(Int64),
    `pr`             Nullable(Float64),
    `ltc`            Nullable(Int64),
    `sta`            Nullable(Enum8('s' = 1, 'p' = 2, 'k' = 3, 'r' = 4, 'a' = 5, 'w' = 6, 'e' = 7, 'f' = 8, 'q' = 9, 'd' = 10)),
    `dfa`            Nullable(Int64),
    `rendition`      LowCardinality(Nullable(String)),
    `startup_ms`     Nullable(Int64),
    `stall_ms`       Nullable(Int64),
    `play_ms`        Nullable(Int64),
    `fatal`          Nullable(Bool),
    `before_start`   Nullable(Bool),
    `error_code`     LowCardinality(Nullable(String)),
    `reason`         Nullable(String),
    `user_agent`     Nullable(String),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (cid, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Live streams started, their ABR ladder, and how they ended.
CREATE TABLE IF NOT EXISTS stream_lifecycle
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `stream_id`      LowCardinality(String),
    `creator_id`     LowCardinality(Nullable(String)),
    `room_id`        LowCardinality(String),
    `protocol`       Nullable(Enum8('rtmp' = 1, 'srt' = 2)),
    `epoch`          LowCardinality(String),
    `reason`         Nullable(Enum8('broadcaster_stopped' = 1, 'ingest_lost' = 2, 'key_revoked' = 3, 'transcoder_failed' = 4, 'shutdown' = 5)),
    `duration_s`     Nullable(Float64),
    `detail`         Nullable(String),
    `renditions`     Nullable(String),
    `audio_kbps`     Nullable(Int64),
    `segment_s`      Nullable(Float64),
    `part_s`         Nullable(Float64),
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (stream_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- The moderation audit trail: who did what to whom, in which room.
CREATE TABLE IF NOT EXISTS moderation_actions
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `action_id`      UUID,
    `room_id`        LowCardinality(String),
    `kind`           Enum8('ban' = 1, 'unban' = 2, 'timeout' = 3, 'delete_message' = 4, 'set_modes' = 5, 'set_banned_terms' = 6, 'approve_held' = 7, 'deny_held' = 8),
    `actor_id`       String,
    `actor_role`     Enum8('viewer' = 1, 'creator' = 2, 'moderator' = 3, 'analyst' = 4, 'finance' = 5, 'admin' = 6),
    `target_user_id` Nullable(String),
    `message_id`     Nullable(UUID),
    `duration_s`     Nullable(Int64),
    `params`         String,
    `reason`         String,
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (room_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Every fraud rule hit, enforced or shadow.
CREATE TABLE IF NOT EXISTS fraud_alerts
(
    `event_id`       UUID,
    `event_type`     LowCardinality(String),
    `schema_version` UInt16,
    `occurred_at`    DateTime64(3, 'UTC'),
    `producer`       LowCardinality(String),
    `rule`           LowCardinality(String),
    `outcome`        Enum8('allow' = 1, 'review' = 2, 'block' = 3),
    `shadow`         Bool,
    `subject_type`   Enum8('user' = 1, 'payment_instrument' = 2, 'device' = 3, 'ip' = 4, 'sender_creator_pair' = 5),
    `subject_id`     String,
    `user_id`        String,
    `reference_id`   String,
    `observed`       Int64,
    `threshold`      Int64,
    `window_s`       Nullable(Int64),
    `detail`         String,
    `_topic`         LowCardinality(String),
    `_partition`     UInt16,
    `_offset`        UInt64,
    `_ingested_at`   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMMDD(occurred_at)
ORDER BY (rule, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

