-- Profile pictures live in our own file storage and are served from our own origin: an
-- avatar URL pointing anywhere else would let a profile make every colleague's browser
-- fetch from a host of its choosing (tracking, or requests into the network the browser
-- sits in). The pictures are re-encoded as thumbnails, so what is served is never the
-- uploaded bytes.
CREATE TABLE avatars (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Where the upload goes; removed once the thumbnail is made.
    upload_key  text NOT NULL UNIQUE,
    -- The picture served: a thumbnail made from the upload.
    thumb_key   text,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'replaced')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX avatars_user_idx ON avatars (user_id, created_at DESC);

-- Avatars set before this point named other hosts: they are dropped.
UPDATE users SET avatar_url = '' WHERE avatar_url <> '';
