-- Named statements of the platform-wide bans (streams/rooms/platform_bans.py).

-- name: RECORD
INSERT INTO platform_bans (user_id, banned, actor_id, reason)
VALUES (%(user_id)s, %(banned)s, %(actor_id)s, %(reason)s)

-- name: HISTORY
SELECT banned, actor_id, reason, at FROM platform_bans WHERE user_id = %(user_id)s ORDER BY id DESC LIMIT 50

-- name: STANDING
SELECT user_id FROM (
    SELECT DISTINCT ON (user_id) user_id, banned FROM platform_bans ORDER BY user_id, id DESC
) latest WHERE banned
