-- Live streams and their ingest keys. A creator gets one stream per room; its key is shown once
-- and only its SHA-256 is kept. Rotating a key revokes the old one (kept for the audit trail).
CREATE TABLE streams (
    stream_id   text PRIMARY KEY,
    creator_id  text NOT NULL,
    room_id     text NOT NULL REFERENCES rooms (room_id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (room_id)
);

CREATE TABLE stream_keys (
    key_sha256  bytea PRIMARY KEY,
    stream_id   text NOT NULL REFERENCES streams (stream_id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX stream_keys_one_active ON stream_keys (stream_id) WHERE revoked_at IS NULL;
