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

-- Reactions and pins are capped per message and per channel. The caps are counted inside a
-- function, after the message row is locked: in READ COMMITTED each statement of a function
-- takes a fresh snapshot, so concurrent requests (a flood) cannot push a message past its
-- cap, which a single statement's snapshot could not promise. Outcome: 'added', 'exists',
-- 'gone' (no such live message), 'user_cap' or 'kind_cap' ('cap' for pins).
CREATE FUNCTION add_reaction(p_message uuid, p_channel uuid, p_user uuid, p_emoji text,
                             p_max_kinds integer, p_max_per_user integer)
RETURNS TABLE (r_outcome text, r_seq bigint, r_data jsonb, r_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq  bigint;
    v_at   timestamptz;
    v_data jsonb := jsonb_build_object('message_id', p_message, 'user_id', p_user, 'emoji', p_emoji);
BEGIN
    PERFORM 1 FROM messages WHERE id = p_message AND channel_id = p_channel AND deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM reactions WHERE message_id = p_message AND emoji = p_emoji AND user_id = p_user) THEN
        RETURN QUERY SELECT 'exists'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    IF (SELECT count(*) FROM reactions WHERE message_id = p_message AND user_id = p_user) >= p_max_per_user THEN
        RETURN QUERY SELECT 'user_cap'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM reactions WHERE message_id = p_message AND emoji = p_emoji)
       AND (SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = p_message) >= p_max_kinds THEN
        RETURN QUERY SELECT 'kind_cap'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    UPDATE channels SET last_seq = last_seq + 1 WHERE id = p_channel RETURNING last_seq INTO v_seq;
    INSERT INTO reactions (message_id, user_id, emoji) VALUES (p_message, p_user, p_emoji);
    INSERT INTO channel_events (channel_id, seq, kind, data) VALUES (p_channel, v_seq, 'reaction.added', v_data)
        RETURNING created_at INTO v_at;
    RETURN QUERY SELECT 'added'::text, v_seq, v_data, (extract(epoch FROM v_at) * 1000)::int8;
END
$$;

CREATE FUNCTION pin_message(p_message uuid, p_channel uuid, p_user uuid, p_max_pins integer)
RETURNS TABLE (r_outcome text, r_seq bigint, r_data jsonb, r_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq  bigint;
    v_at   timestamptz;
    v_data jsonb := jsonb_build_object('message_id', p_message, 'user_id', p_user);
BEGIN
    PERFORM 1 FROM messages WHERE id = p_message AND channel_id = p_channel AND deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'gone'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    -- The channel row is the lock for the per-channel count.
    PERFORM 1 FROM channels WHERE id = p_channel FOR UPDATE;
    IF EXISTS (SELECT 1 FROM pins WHERE channel_id = p_channel AND message_id = p_message) THEN
        RETURN QUERY SELECT 'exists'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    IF (SELECT count(*) FROM pins WHERE channel_id = p_channel) >= p_max_pins THEN
        RETURN QUERY SELECT 'cap'::text, NULL::bigint, NULL::jsonb, NULL::bigint; RETURN;
    END IF;
    UPDATE channels SET last_seq = last_seq + 1 WHERE id = p_channel RETURNING last_seq INTO v_seq;
    INSERT INTO pins (channel_id, message_id, pinned_by) VALUES (p_channel, p_message, p_user);
    INSERT INTO channel_events (channel_id, seq, kind, data) VALUES (p_channel, v_seq, 'message.pinned', v_data)
        RETURNING created_at INTO v_at;
    RETURN QUERY SELECT 'added'::text, v_seq, v_data, (extract(epoch FROM v_at) * 1000)::int8;
END
$$;
