-- The full chat product: profiles, workspace settings and member states, channel purpose,
-- direct messages, mentions, threads, reactions, pins and thread following.

-- Profiles. Display names are not unique; mentions are stored as <@user-id>.
ALTER TABLE users
    ADD COLUMN avatar_url  text NOT NULL DEFAULT '',
    ADD COLUMN status_text text NOT NULL DEFAULT '',
    ADD COLUMN time_zone   text NOT NULL DEFAULT 'UTC';

-- Workspace settings that policies consult.
ALTER TABLE workspaces
    ADD COLUMN description                 text NOT NULL DEFAULT '',
    ADD COLUMN members_can_invite          boolean NOT NULL DEFAULT false,
    ADD COLUMN members_can_create_channels boolean NOT NULL DEFAULT true;

-- Deactivation is reversible (removal is not): a deactivated member keeps their membership
-- row but, like a removed one, can reach nothing in the workspace.
ALTER TABLE workspace_members
    ADD COLUMN deactivated_at timestamptz;

ALTER TABLE channels
    ADD COLUMN purpose text NOT NULL DEFAULT '',
    -- Direct messages are found again by their sorted member set: "uuid,uuid,...".
    ADD COLUMN dm_key  text;
CREATE UNIQUE INDEX channels_dm_key ON channels (workspace_id, dm_key) WHERE dm_key IS NOT NULL;

-- Messages: structured mentions, threads.
ALTER TABLE messages
    ADD COLUMN mentions         uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN mentions_channel boolean NOT NULL DEFAULT false,
    ADD COLUMN mentions_here    boolean NOT NULL DEFAULT false,
    -- A reply's root; replies to replies are refused by the API.
    ADD COLUMN thread_root_id   uuid REFERENCES messages (id),
    -- A reply also shown in the channel ("also send to channel").
    ADD COLUMN also_to_channel  boolean NOT NULL DEFAULT false,
    ADD COLUMN reply_count      integer NOT NULL DEFAULT 0,
    ADD COLUMN last_reply_at    timestamptz;
CREATE INDEX messages_thread_idx ON messages (thread_root_id, seq) WHERE thread_root_id IS NOT NULL;
CREATE INDEX messages_mentions_idx ON messages USING gin (mentions);

CREATE TABLE reactions (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE pins (
    channel_id uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by  uuid NOT NULL REFERENCES users (id),
    pinned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, message_id)
);

-- Who follows a thread. Authors and repliers follow automatically; an explicit unfollow
-- is remembered (following = false) so a later reply does not re-follow them.
CREATE TABLE thread_follows (
    root_id   uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    following boolean NOT NULL,
    PRIMARY KEY (root_id, user_id)
);
