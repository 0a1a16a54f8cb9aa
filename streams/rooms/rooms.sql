-- name: CREATE_ROOM
INSERT INTO rooms (room_id, creator_id, title) VALUES (%(room_id)s, %(creator_id)s, %(title)s)
ON CONFLICT (room_id) DO NOTHING

-- name: ROOM
SELECT creator_id, modes, banned_terms, closed_at IS NOT NULL FROM rooms WHERE room_id = %(room_id)s

-- name: ROOM_MODERATORS
SELECT user_id FROM room_moderators WHERE room_id = %(room_id)s

-- name: ROOM_BANS
SELECT user_id, until FROM room_bans WHERE room_id = %(room_id)s AND (until IS NULL OR until > now())

-- name: SET_MODES
UPDATE rooms SET modes = %(modes)s WHERE room_id = %(room_id)s

-- name: SET_TERMS
UPDATE rooms SET banned_terms = %(terms)s WHERE room_id = %(room_id)s

-- name: CLOSE_ROOM
UPDATE rooms SET closed_at = coalesce(closed_at, now()) WHERE room_id = %(room_id)s

-- name: ADD_MODERATOR
INSERT INTO room_moderators (room_id, user_id, added_by) VALUES (%(room_id)s, %(user_id)s, %(actor)s)
ON CONFLICT DO NOTHING

-- name: REMOVE_MODERATOR
DELETE FROM room_moderators WHERE room_id = %(room_id)s AND user_id = %(user_id)s

-- name: BAN
INSERT INTO room_bans (room_id, user_id, until, reason, actor_id)
VALUES (%(room_id)s, %(user_id)s, %(until)s, %(reason)s, %(actor)s)
ON CONFLICT (room_id, user_id) DO UPDATE
SET until = excluded.until, reason = excluded.reason, actor_id = excluded.actor_id, created_at = now()

-- name: UNBAN
DELETE FROM room_bans WHERE room_id = %(room_id)s AND user_id = %(user_id)s

-- name: HOLD
INSERT INTO chat_holds (message_id, room_id, user_id, submitted, score, held_reason)
VALUES (%(message_id)s, %(room_id)s, %(user_id)s, %(submitted)s, %(score)s, %(held_reason)s)
ON CONFLICT (message_id) DO NOTHING

-- name: OPEN_HOLDS
SELECT submitted, score, held_reason, held_at FROM chat_holds
WHERE room_id = %(room_id)s AND decision IS NULL ORDER BY held_at LIMIT %(limit)s

-- name: OPEN_HOLDS_ALL
SELECT submitted, score, held_reason, held_at FROM chat_holds
WHERE decision IS NULL ORDER BY held_at DESC LIMIT %(limit)s

-- name: FIND_HOLD
SELECT submitted, score, held_reason, held_at FROM chat_holds WHERE message_id = %(message_id)s

-- name: CLAIM_HOLD
SELECT submitted, decision, decided_by FROM chat_holds WHERE message_id = %(message_id)s AND room_id = %(room_id)s FOR UPDATE

-- name: DECIDE_HOLD
UPDATE chat_holds SET decision = %(decision)s, decided_by = %(by)s, decided_at = now()
WHERE message_id = %(message_id)s AND decision IS NULL

-- name: TITLES
SELECT room_id, title FROM rooms WHERE room_id = ANY(%(room_ids)s::text[])
