-- The trust-and-safety console's ClickHouse queries (serving/console/warehouse.py). Parameters
-- are bound by the server; an optional filter is '' (strings) and applies only when set.

-- name: FRAUD_ALERTS
SELECT event_id, rule, toString(outcome) AS outcome, shadow, subject_id, user_id, reference_id,
       observed, threshold, detail, occurred_at
FROM fraud_alerts
WHERE occurred_at >= {since:DateTime64(3)} AND occurred_at < {until:DateTime64(3)}
  AND ({user_id:String} = '' OR user_id = {user_id:String})
  AND ({rule:String} = '' OR rule = {rule:String})
  AND ({room_id:String} = '' OR reference_id IN (SELECT toString(gift_id) FROM gift_events WHERE room_id = {room_id:String}))
ORDER BY occurred_at DESC
LIMIT {limit:UInt32}

-- name: HOLD_SPIKES
-- Rooms whose held messages in one minute are at least {min_holds} and at least three times
-- their average minute over the hour before: moderation spikes.
SELECT room_id, minute, holds, baseline
FROM
(
    SELECT room_id, minute, holds,
           sum(holds) OVER (PARTITION BY room_id ORDER BY minute RANGE BETWEEN 3600 PRECEDING AND 1 PRECEDING) / 60 AS baseline
    FROM
    (
        SELECT room_id, toStartOfMinute(occurred_at) AS minute, count() AS holds
        FROM chat_events
        WHERE event_type = 'chat.message.held'
          AND occurred_at >= {since:DateTime64(3)} - INTERVAL 1 HOUR AND occurred_at < {until:DateTime64(3)}
          AND ({room_id:String} = '' OR room_id = {room_id:String})
        GROUP BY room_id, minute
    )
)
WHERE minute >= toStartOfMinute({since:DateTime64(3)}) AND holds >= {min_holds:UInt32} AND holds >= 3 * baseline
ORDER BY minute DESC
LIMIT {limit:UInt32}

-- name: USER_MESSAGES
SELECT occurred_at, room_id, message_id, event_type, text, toString(reason) AS reason, detail, score, held_reason
FROM chat_events
WHERE user_id = {user_id:String}
ORDER BY occurred_at DESC
LIMIT 100

-- name: USER_MODERATION
SELECT occurred_at, room_id, toString(kind) AS kind, actor_id, toString(actor_role) AS actor_role, duration_s, reason
FROM moderation_actions
WHERE target_user_id = {user_id:String}
ORDER BY occurred_at DESC
LIMIT 100

-- name: USER_GIFTS
SELECT occurred_at, gift_id, event_type, room_id, creator_id, gift_sku, total_coins, toString(reason) AS reason, detail
FROM gift_events
WHERE sender_id = {user_id:String}
ORDER BY occurred_at DESC
LIMIT 100

-- name: USER_TOPUPS
SELECT occurred_at, topup_id, event_type, amount_cents, currency, coins, reason
FROM topups
WHERE user_id = {user_id:String}
ORDER BY occurred_at DESC
LIMIT 100

-- name: USER_FRAUD
SELECT occurred_at, rule, toString(outcome) AS outcome, shadow, subject_id, reference_id, observed, threshold
FROM fraud_alerts
WHERE user_id = {user_id:String}
ORDER BY occurred_at DESC
LIMIT 100

-- name: AUDIT
SELECT occurred_at, action_id, toString(kind) AS kind, room_id, actor_id, toString(actor_role) AS actor_role,
       target_user_id, message_id, duration_s, params, reason
FROM moderation_actions
WHERE occurred_at >= {since:DateTime64(3)} AND occurred_at < {until:DateTime64(3)}
  AND ({actor_id:String} = '' OR actor_id = {actor_id:String})
  AND ({kind:String} = '' OR toString(kind) = {kind:String})
  AND ({room_id:String} = '' OR room_id = {room_id:String})
  AND ({q:String} = '' OR positionCaseInsensitive(concat(reason, ' ', ifNull(target_user_id, ''), ' ', actor_id, ' ', params), {q:String}) > 0)
ORDER BY occurred_at DESC
LIMIT {limit:UInt32}

-- name: HOLDS_PER_MINUTE
SELECT toStartOfMinute(occurred_at) AS minute, count() AS holds
FROM chat_events
WHERE event_type = 'chat.message.held' AND occurred_at >= {since:DateTime64(3)}
GROUP BY minute ORDER BY minute

-- name: ACTIONS_PER_HOUR
SELECT toStartOfHour(occurred_at) AS hour, toString(kind) AS kind, count() AS actions
FROM moderation_actions
WHERE occurred_at >= {since:DateTime64(3)}
GROUP BY hour, kind ORDER BY hour, kind

-- name: FRAUD_BY_RULE
SELECT rule, countIf(NOT shadow) AS enforced, countIf(shadow) AS in_shadow
FROM fraud_alerts
WHERE occurred_at >= {since:DateTime64(3)}
GROUP BY rule ORDER BY enforced + in_shadow DESC

-- name: FLAGGED_ROOMS
SELECT room_id, countIf(event_type = 'chat.message.held') AS held, countIf(event_type = 'chat.message.rejected') AS refused
FROM chat_events
WHERE occurred_at >= {since:DateTime64(3)} AND event_type IN ('chat.message.held', 'chat.message.rejected')
GROUP BY room_id ORDER BY held + refused DESC
LIMIT 10

-- name: FRAUD_ALERT
SELECT event_id FROM fraud_alerts WHERE event_id = {event_id:UUID} LIMIT 1
