-- What apps receive: slash commands, event subscriptions and outgoing webhooks, every request
-- signed the way Slack signs (HMAC-SHA256 with the app's signing secret).

-- The signing secret is shown to the workspace's admins, as Slack shows it to an app's
-- owners; apps need it to check that a request came from us. `events_url` is set only once
-- it answered Slack's `url_verification` challenge; `events` are Slack's subscription names.
ALTER TABLE apps
    ADD COLUMN signing_secret text NOT NULL
        DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
    ADD COLUMN events_url     text,
    ADD COLUMN events         text[] NOT NULL DEFAULT '{}';

-- `/name text` typed in a channel posts Slack's form payload to `url`.
CREATE TABLE app_commands (
    id           uuid PRIMARY KEY,
    app_id       uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    -- Without the slash, lower case.
    name         text NOT NULL,
    url          text NOT NULL,
    description  text NOT NULL DEFAULT '',
    usage_hint   text NOT NULL DEFAULT '',
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_commands_name_key ON app_commands (workspace_id, name);
CREATE INDEX app_commands_app_idx ON app_commands (app_id);

-- Slack's outgoing webhooks: a message in a public channel (one, or any when `channel_id` is
-- null) that starts with a trigger word (any message of the channel when there are none) is
-- posted to `url`; a `{"text"}` answer is posted back by the app's bot. `token` is Slack's
-- verification token, sent in the payload besides the signature.
CREATE TABLE outgoing_hooks (
    id            uuid PRIMARY KEY,
    app_id        uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel_id    uuid REFERENCES channels (id) ON DELETE CASCADE,
    trigger_words text[] NOT NULL DEFAULT '{}',
    url           text NOT NULL,
    token         text NOT NULL,
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (channel_id IS NOT NULL OR cardinality(trigger_words) > 0)
);
CREATE INDEX outgoing_hooks_workspace_idx ON outgoing_hooks (workspace_id);

-- The delivery queue: events and outgoing-webhook posts, written by the triggers below in the
-- same transaction as the change they tell of, so none is lost and none is sent for a change
-- that rolled back. `payload` holds the facts; the Slack envelope is built from them when
-- sent (the same bytes on every attempt). Sent in `id` order per app: an app's oldest
-- pending delivery blocks its later ones until it is delivered or fails for good. A sender
-- holds a row by setting `lease_until`; a sender that dies leaves the lease to run out, and
-- the row is sent again (at least once).
CREATE TABLE deliveries (
    id          bigserial PRIMARY KEY,
    app_id      uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('event', 'outgoing_webhook')),
    url         text NOT NULL,
    payload     jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_status integer,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX deliveries_pending_idx ON deliveries (app_id, id) WHERE state = 'pending';
CREATE INDEX deliveries_app_idx ON deliveries (app_id, id DESC);
-- Finished deliveries are kept a week for the delivery log.
CREATE INDEX deliveries_finished_idx ON deliveries (finished_at) WHERE state <> 'pending';

-- A slash command's `response_url`: Slack allows five answers within thirty minutes.
CREATE TABLE response_urls (
    token_hash     text PRIMARY KEY,
    app_id         uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel_id     uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_root_id uuid REFERENCES messages (id) ON DELETE CASCADE,
    uses           integer NOT NULL DEFAULT 0,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX response_urls_expiry_idx ON response_urls (expires_at);

-- Slack's subscription name for messages of a channel kind.
CREATE FUNCTION app_message_event(kind text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'public' THEN 'message.channels' WHEN 'private' THEN 'message.groups' ELSE 'message.im' END
$$;

-- New messages: `message.*` and `app_mention` events for subscribed apps whose bot is a member
-- of the channel, and outgoing-webhook posts for messages people (not bots) wrote.
CREATE FUNCTION deliveries_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ch channels%ROWTYPE;
    root_ts bigint;
    queued bigint := 0;
    n bigint;
BEGIN
    SELECT * INTO ch FROM channels WHERE id = NEW.channel_id;
    IF NEW.thread_root_id IS NOT NULL THEN
        SELECT ts_us INTO root_ts FROM messages WHERE id = NEW.thread_root_id;
    END IF;
    INSERT INTO deliveries (app_id, kind, url, payload)
    SELECT a.id, 'event', a.events_url,
           jsonb_build_object('type', t.type, 'team', ch.workspace_id, 'channel', ch.id, 'channel_kind', ch.kind,
                              'user', NEW.author_id, 'text', NEW.text, 'ts_us', NEW.ts_us,
                              'thread_ts_us', root_ts, 'bot', NEW.bot, 'blocks', NEW.blocks,
                              'at_ms', (extract(epoch FROM NEW.created_at) * 1000)::bigint)
    FROM apps a
    JOIN channel_members cm ON cm.channel_id = ch.id AND cm.user_id = a.bot_user_id
    CROSS JOIN (VALUES (1, 'message'), (2, 'app_mention')) AS t (ord, type)
    WHERE a.workspace_id = ch.workspace_id AND a.revoked_at IS NULL AND a.events_url IS NOT NULL
      AND CASE t.type
          WHEN 'message' THEN app_message_event(ch.kind) = ANY (a.events)
          ELSE 'app_mention' = ANY (a.events) AND a.bot_user_id = ANY (NEW.mentions) AND NEW.author_id <> a.bot_user_id
          END
    ORDER BY a.id, t.ord;
    GET DIAGNOSTICS n = ROW_COUNT;
    queued := queued + n;

    IF ch.kind = 'public' AND NEW.bot IS NULL AND NEW.thread_root_id IS NULL
       AND NOT (SELECT bot FROM users WHERE id = NEW.author_id) THEN
        INSERT INTO deliveries (app_id, kind, url, payload)
        SELECT o.app_id, 'outgoing_webhook', o.url,
               jsonb_build_object('hook', o.id, 'token', o.token, 'team', ch.workspace_id, 'channel', ch.id,
                                  'channel_name', ch.name, 'user', NEW.author_id,
                                  'user_name', (SELECT display_name FROM users WHERE id = NEW.author_id),
                                  'team_domain', (SELECT name FROM workspaces WHERE id = ch.workspace_id),
                                  'text', NEW.text,
                                  'ts_us', NEW.ts_us, 'trigger_word', w.word)
        FROM outgoing_hooks o
        JOIN apps a ON a.id = o.app_id AND a.revoked_at IS NULL
        LEFT JOIN LATERAL (SELECT word FROM unnest(o.trigger_words) AS word
                           WHERE starts_with(lower(NEW.text), lower(word)) LIMIT 1) w ON true
        WHERE o.workspace_id = ch.workspace_id AND (o.channel_id IS NULL OR o.channel_id = ch.id)
          AND (cardinality(o.trigger_words) = 0 OR w.word IS NOT NULL)
        ORDER BY o.app_id, o.created_at;
        GET DIAGNOSTICS n = ROW_COUNT;
        queued := queued + n;
    END IF;
    IF queued > 0 THEN
        PERFORM pg_notify('ocomms_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER messages_deliveries AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION deliveries_on_message();

CREATE FUNCTION deliveries_on_reaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO deliveries (app_id, kind, url, payload)
    SELECT a.id, 'event', a.events_url,
           jsonb_build_object('type', 'reaction_added', 'team', c.workspace_id, 'channel', c.id,
                              'user', NEW.user_id, 'reaction', NEW.emoji, 'item_user', m.author_id,
                              'item_ts_us', m.ts_us, 'at_ms', (extract(epoch FROM NEW.created_at) * 1000)::bigint)
    FROM messages m
    JOIN channels c ON c.id = m.channel_id
    JOIN apps a ON a.workspace_id = c.workspace_id
    JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = a.bot_user_id
    WHERE m.id = NEW.message_id AND a.revoked_at IS NULL AND a.events_url IS NOT NULL
      AND 'reaction_added' = ANY (a.events)
    ORDER BY a.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('ocomms_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reactions_deliveries AFTER INSERT ON reactions
    FOR EACH ROW EXECUTE FUNCTION deliveries_on_reaction();

-- Someone joined a channel the app's bot is in (the bot itself included, as in Slack).
CREATE FUNCTION deliveries_on_join() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO deliveries (app_id, kind, url, payload)
    SELECT a.id, 'event', a.events_url,
           jsonb_build_object('type', 'member_joined_channel', 'team', c.workspace_id, 'channel', c.id,
                              'channel_kind', c.kind, 'user', NEW.user_id,
                              'at_ms', (extract(epoch FROM NEW.joined_at) * 1000)::bigint)
    FROM channels c
    JOIN apps a ON a.workspace_id = c.workspace_id
    JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = a.bot_user_id
    WHERE c.id = NEW.channel_id AND c.kind <> 'dm' AND a.revoked_at IS NULL AND a.events_url IS NOT NULL
      AND 'member_joined_channel' = ANY (a.events)
    ORDER BY a.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('ocomms_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER channel_members_deliveries AFTER INSERT ON channel_members
    FOR EACH ROW EXECUTE FUNCTION deliveries_on_join();
