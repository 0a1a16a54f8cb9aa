-- Live rooms and their moderation state (durable; Redis keeps the hot copy the chat path reads).
-- One room per live stream; its creator and the moderators they appoint moderate it.
CREATE TABLE rooms (
    room_id     text PRIMARY KEY,
    creator_id  text NOT NULL,
    title       text NOT NULL DEFAULT '',
    modes       jsonb NOT NULL DEFAULT '{}'::jsonb,
    banned_terms text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
CREATE INDEX rooms_creator ON rooms (creator_id);

CREATE TABLE room_moderators (
    room_id     text NOT NULL REFERENCES rooms (room_id),
    user_id     text NOT NULL,
    added_by    text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);

-- A ban has no end; a timeout ends at `until`. Unban deletes the row (the audit trail is on Kafka
-- and in ClickHouse's moderation tables).
CREATE TABLE room_bans (
    room_id     text NOT NULL REFERENCES rooms (room_id),
    user_id     text NOT NULL,
    until       timestamptz,
    reason      text NOT NULL DEFAULT '',
    actor_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);

-- The AutoMod hold queue: held chat waits here for a moderator of the room.
CREATE TABLE chat_holds (
    message_id  uuid PRIMARY KEY,
    room_id     text NOT NULL,
    user_id     text NOT NULL,
    submitted   jsonb NOT NULL,
    score       real NOT NULL,
    held_reason text NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now(),
    decision    text CHECK (decision IN ('approved', 'denied')),
    decided_by  text,
    decided_at  timestamptz,
    CHECK ((decision IS NULL) = (decided_by IS NULL))
);
CREATE INDEX chat_holds_open ON chat_holds (room_id, held_at) WHERE decision IS NULL;
