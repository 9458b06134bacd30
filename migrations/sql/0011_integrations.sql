-- Integrations: apps, each with a bot user, and Slack-compatible incoming webhooks that post
-- as that bot. Messages get Slack's timestamps and what integrations post beyond text.

-- A bot is a user that belongs to an app and never logs in.
ALTER TABLE users ADD COLUMN bot boolean NOT NULL DEFAULT false;

CREATE TABLE apps (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    bot_user_id  uuid NOT NULL UNIQUE REFERENCES users (id),
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX apps_workspace_idx ON apps (workspace_id, created_at) WHERE revoked_at IS NULL;
-- A name says which app posted: no two live apps of a workspace share one.
CREATE UNIQUE INDEX apps_name_key ON apps (workspace_id, lower(name)) WHERE revoked_at IS NULL;

CREATE TABLE incoming_hooks (
    id            uuid PRIMARY KEY,
    app_id        uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel_id    uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the secret in the hook's URL: the URL is shown once, when made.
    secret_hash   text NOT NULL UNIQUE,
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    -- A token bucket (Slack allows about a message a second per hook, in short bursts):
    -- tokens left as of `bucket_at`.
    bucket_tokens double precision NOT NULL DEFAULT 20,
    bucket_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incoming_hooks_app_idx ON incoming_hooks (app_id) WHERE revoked_at IS NULL;

-- Slack's message timestamps (`ts`): microseconds since the epoch, unique and increasing
-- per channel, so `thread_ts` and cursors name one message. A channel keeps its last.
ALTER TABLE channels ADD COLUMN last_ts_us bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN ts_us bigint;
-- Existing messages: their time, pushed forward where needed to stay increasing in seq
-- order (a running maximum plus the row number grows strictly).
UPDATE messages m SET ts_us = s.ts
FROM (SELECT id, max((extract(epoch FROM created_at) * 1000000)::bigint) OVER w + row_number() OVER w AS ts
      FROM messages WINDOW w AS (PARTITION BY channel_id ORDER BY seq)) s
WHERE s.id = m.id;
UPDATE channels c SET last_ts_us = s.ts FROM (SELECT channel_id, max(ts_us) AS ts FROM messages GROUP BY channel_id) s
WHERE s.channel_id = c.id;
ALTER TABLE messages ALTER COLUMN ts_us SET NOT NULL;
CREATE UNIQUE INDEX messages_ts_key ON messages (channel_id, ts_us);

-- What an integration posts beyond text: the name and icon it posts under (a webhook's
-- `username`, `icon_emoji`, `icon_url`), Block Kit blocks and legacy attachments, validated
-- and with their mrkdwn already turned into our markdown.
ALTER TABLE messages
    ADD COLUMN bot         jsonb,
    ADD COLUMN blocks      jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
