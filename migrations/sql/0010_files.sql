-- Files shared in channels. The bytes live in object storage (S3, or the host's embedded
-- store); this table is what the API knows of each: who uploaded it where, what it is, and
-- where it is in its life (pending upload, uploaded, attached to a message, deleted).

CREATE TABLE files (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    uploader_id  uuid NOT NULL REFERENCES users (id),
    name         text NOT NULL,
    -- Declared at the start; replaced by the sniffed type when the upload completes.
    content_type text NOT NULL,
    size         bigint NOT NULL CHECK (size > 0),
    -- The object's key in the bucket: ids only, never the name.
    storage_key  text NOT NULL UNIQUE,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'attached', 'deleted')),
    message_id   uuid REFERENCES messages (id) ON DELETE SET NULL,
    -- Images: their size in pixels as shown (EXIF orientation applied), and a thumbnail once made.
    width        integer,
    height       integer,
    thumb_key    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    deleted_at   timestamptz,
    -- When the stored objects of a deleted or abandoned file were removed from storage.
    purged_at    timestamptz
);
CREATE INDEX files_message_idx ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_channel_idx ON files (channel_id, created_at DESC) WHERE state = 'attached';
-- Quota: what a workspace holds (pending uploads count, so a quota cannot be raced past).
CREATE INDEX files_workspace_idx ON files (workspace_id) WHERE state <> 'deleted';
-- Garbage collection: abandoned uploads and deleted files whose objects remain.
CREATE INDEX files_pending_idx ON files (created_at) WHERE state = 'pending';
CREATE INDEX files_unpurged_idx ON files (deleted_at) WHERE state = 'deleted' AND purged_at IS NULL;

-- A message's files as clients show them ({id, name, content_type, size, width, height}),
-- kept with the message so every read and event carries them without a join.
ALTER TABLE messages ADD COLUMN files jsonb NOT NULL DEFAULT '[]';
