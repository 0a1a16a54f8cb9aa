-- The trust-and-safety console (serving/console): the hold queue across every room, platform-wide
-- bans, alert acknowledgements, and a notification per hold so every gateway node shows a new
-- or decided hold to its analysts at once.

-- Newest first across rooms (the per-room index serves the room moderators' list).
CREATE INDEX IF NOT EXISTS chat_holds_open_all ON chat_holds (held_at DESC) WHERE decision IS NULL;

-- Banned from every room by an analyst or admin; lifting a ban is a new row (history kept).
CREATE TABLE platform_bans (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text NOT NULL,
    banned     boolean NOT NULL,
    actor_id   text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX platform_bans_user ON platform_bans (user_id, id DESC);

-- An analyst's acknowledgement of an alert, with a note. Append-only: a second one is a
-- conflict naming the first.
CREATE TABLE alert_acks (
    alert_id   text PRIMARY KEY,
    acked_by   text NOT NULL,
    note       text NOT NULL DEFAULT '',
    acked_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION console_hold_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify(
        'console_holds',
        json_build_object(
            'kind', TG_ARGV[0],
            'id', coalesce(to_jsonb(NEW) ->> 'message_id', to_jsonb(NEW) ->> 'gift_id'),
            'decision', NEW.decision,
            'decided_by', NEW.decided_by
        )::text
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chat_holds_notify AFTER INSERT OR UPDATE OF decision ON chat_holds
    FOR EACH ROW EXECUTE FUNCTION console_hold_notify('chat');
CREATE TRIGGER gift_holds_notify AFTER INSERT OR UPDATE OF decision ON gift_holds
    FOR EACH ROW EXECUTE FUNCTION console_hold_notify('gift');
