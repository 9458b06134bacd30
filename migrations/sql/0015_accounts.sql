-- Accounts: verified email addresses, one-time links sent by email (verification, password
-- reset, magic-link sign-in), the mail outbox the host sends from, and login sessions a user
-- can see and end.

-- NULL until the owner follows the link we sent. Accounts made before verification existed
-- count as verified: their owners signed in with them for as long as they existed.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- One-time links, stored hashed. `purpose` is 'verify', 'reset' or 'magic'. A magic link is
-- bound to the browser that asked for it: `browser_hash` is the hash of the nonce that
-- browser holds in a cookie. A sign-up link ('verify') carries the account to create: no
-- account exists until the address's owner follows it, so nobody can hold an address they
-- do not read, nor set the password of an account someone else will confirm.
CREATE TABLE email_tokens (
    token_hash    text PRIMARY KEY,
    purpose       text NOT NULL,
    user_id       uuid REFERENCES users (id) ON DELETE CASCADE,
    email         text NOT NULL,
    browser_hash  text,
    display_name  text,
    password_hash text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expiry_idx ON email_tokens (expires_at);

-- Mail to send. The component writes a row in the same request that wants the mail sent;
-- the host sends it (SMTP) or, with no mail server configured, logs it and leaves it here
-- for the install's admins to read. `state`: 'pending', 'sent', 'logged' (no mail server),
-- 'failed' (gave up after retries).
CREATE TABLE email_outbox (
    id            bigserial PRIMARY KEY,
    to_addr       text NOT NULL,
    subject       text NOT NULL,
    text_body     text NOT NULL,
    html_body     text NOT NULL,
    state         text NOT NULL DEFAULT 'pending',
    attempts      integer NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX email_outbox_due_idx ON email_outbox (next_at) WHERE state = 'pending';

CREATE FUNCTION email_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ocomms_email', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER email_outbox_notify AFTER INSERT ON email_outbox
    FOR EACH ROW EXECUTE FUNCTION email_outbox_notify();

-- Login sessions: one per refresh-token family, with what the owner needs to recognise it.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method       text NOT NULL,
    user_agent   text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_idx ON sessions (user_id, last_seen_at DESC);

-- Sessions that were live when this migration ran.
INSERT INTO sessions (id, user_id, method, created_at, last_seen_at)
SELECT family_id, min(user_id::text)::uuid, 'password', min(created_at), max(created_at)
FROM refresh_tokens
WHERE revoked_at IS NULL AND expires_at > now()
GROUP BY family_id
ON CONFLICT DO NOTHING;
