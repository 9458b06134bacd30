-- OComms schema, first slice: accounts, sessions, workspaces, channels, messages, events.
-- Ids are UUIDs chosen by the application; times are timestamptz.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    CONSTRAINT users_email_key UNIQUE (email)
);

-- Refresh tokens, stored hashed. A family is one login session; rotation adds a row to it.
CREATE TABLE refresh_tokens (
    token_hash  text PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest')),
    joined_at    timestamptz NOT NULL DEFAULT now(),
    -- Removal is soft so history keeps its authors; every access check filters on it.
    removed_at   timestamptz,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user_idx ON workspace_members (user_id);

CREATE TABLE invites (
    code         text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by   uuid NOT NULL REFERENCES users (id),
    role         text NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    max_uses     integer CHECK (max_uses IS NULL OR max_uses > 0),
    uses         integer NOT NULL DEFAULT 0,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('public', 'private', 'dm')),
    topic        text NOT NULL DEFAULT '',
    is_default   boolean NOT NULL DEFAULT false,
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    archived_at  timestamptz,
    -- The channel's event sequence: taken with UPDATE ... RETURNING in the same statement
    -- that inserts the event, so seqs are dense and ordered by commit.
    last_seq     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX channels_workspace_name_key ON channels (workspace_id, name) WHERE kind <> 'dm';

CREATE TABLE channel_members (
    channel_id    uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at     timestamptz NOT NULL DEFAULT now(),
    last_read_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user_idx ON channel_members (user_id);

CREATE TABLE messages (
    id            uuid PRIMARY KEY,
    channel_id    uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    author_id     uuid NOT NULL REFERENCES users (id),
    text          text NOT NULL,
    client_msg_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    edited_at     timestamptz,
    deleted_at    timestamptz,
    CONSTRAINT messages_channel_seq_key UNIQUE (channel_id, seq)
);
-- Retries with the same idempotency key must not duplicate a message.
CREATE UNIQUE INDEX messages_client_msg_id_key ON messages (channel_id, author_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

-- Every committed change to a channel, in seq order: the source for backfill.
CREATE TABLE channel_events (
    channel_id uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    kind       text NOT NULL,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, seq)
);
