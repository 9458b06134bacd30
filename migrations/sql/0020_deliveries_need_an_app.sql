-- Posting paid for the app-delivery trigger's three queries (the channel, the subscribed
-- apps, the outgoing webhooks) even in workspaces that have no app, which is most of them:
-- a profile of 16 clients posting put the message triggers at 6 % of the machine's CPU.
-- The trigger now first checks that the workspace has a live app. Otherwise unchanged.
CREATE OR REPLACE FUNCTION deliveries_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ch channels%ROWTYPE;
    root_ts bigint;
    queued bigint := 0;
    n bigint;
BEGIN
    -- Every delivery is an app's: in a workspace without a live app (most of them) one
    -- indexed probe ends the trigger, instead of the three queries below.
    SELECT c.* INTO ch FROM channels c
    WHERE c.id = NEW.channel_id
      AND EXISTS (SELECT 1 FROM apps a WHERE a.workspace_id = c.workspace_id AND a.revoked_at IS NULL);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
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
