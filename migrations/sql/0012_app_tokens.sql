-- Bot tokens (Slack's `xoxb-`): an app's credential for the Web API subset under `/api/`.
-- Stored as SHA-256 hashes and shown once; each carries the scopes it was granted.
CREATE TABLE app_tokens (
    id           uuid PRIMARY KEY,
    app_id       uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX app_tokens_app_idx ON app_tokens (app_id) WHERE revoked_at IS NULL;
