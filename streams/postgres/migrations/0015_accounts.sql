-- Local accounts (streams/accounts): sign-up and sign-in with a username and a password. The
-- hash is Argon2id with its parameters inside; the roles are what the tokens it signs carry.
CREATE TABLE accounts (
    user_id        text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    password_hash  text NOT NULL,
    roles          text[] NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
