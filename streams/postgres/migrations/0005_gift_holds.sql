-- Gifts the fraud rules held for review: nothing is settled until an analyst approves (then it
-- settles like any gift) or denies it (then it is rejected). Every decision names who made it.
CREATE TABLE gift_holds (
    gift_id     uuid PRIMARY KEY,
    sender_id   text NOT NULL,
    request     jsonb NOT NULL,
    rules       text[] NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now(),
    decision    text CHECK (decision IN ('approved', 'denied')),
    decided_by  text,
    decided_at  timestamptz,
    CHECK ((decision IS NULL) = (decided_by IS NULL))
);
CREATE INDEX gift_holds_open ON gift_holds (held_at) WHERE decision IS NULL;
