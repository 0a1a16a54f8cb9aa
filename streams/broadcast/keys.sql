-- name: CREATE_STREAM
INSERT INTO streams (stream_id, creator_id, room_id) VALUES (%(stream_id)s, %(creator_id)s, %(room_id)s)
ON CONFLICT (room_id) DO NOTHING

-- name: STREAM_OF_ROOM
SELECT stream_id, creator_id, room_id FROM streams WHERE room_id = %(room_id)s

-- name: STREAM
SELECT stream_id, creator_id, room_id FROM streams WHERE stream_id = %(stream_id)s

-- name: REVOKE_KEYS
UPDATE stream_keys SET revoked_at = now() WHERE stream_id = %(stream_id)s AND revoked_at IS NULL

-- name: ADD_KEY
INSERT INTO stream_keys (key_sha256, stream_id) VALUES (%(key_sha256)s, %(stream_id)s)

-- name: KEY
SELECT s.stream_id, s.creator_id, s.room_id, k.revoked_at IS NOT NULL
FROM stream_keys AS k JOIN streams AS s USING (stream_id)
WHERE k.key_sha256 = %(key_sha256)s

-- name: STREAMS_OF_CREATOR
SELECT stream_id, creator_id, room_id FROM streams WHERE creator_id = %(creator_id)s ORDER BY room_id
