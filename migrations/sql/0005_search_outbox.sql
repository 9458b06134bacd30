-- The index queue for an external search engine (Meilisearch). When a host indexes into one,
-- it sets `search_index_state.outbox_enabled`; from then on every change to what a message's
-- search document holds (its text, deletion, thread, pin) queues the message id here, in the
-- same transaction as the change. The indexer sends each queued message's current state and
-- only then removes the rows: at least once, idempotent, nothing lost while the engine is down.
CREATE TABLE search_index_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    outbox_enabled boolean NOT NULL DEFAULT false
);
INSERT INTO search_index_state DEFAULT VALUES;

CREATE TABLE search_outbox (
    id         bigserial PRIMARY KEY,
    message_id uuid NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);

-- One function for both tables: the trigger's argument names the column holding the
-- message id (`id` on messages, `message_id` on pins).
CREATE FUNCTION search_outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT outbox_enabled FROM search_index_state) THEN
        INSERT INTO search_outbox (message_id)
        VALUES ((to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[0])::uuid);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER messages_search_outbox
    AFTER INSERT OR DELETE OR UPDATE OF text, deleted_at, reply_count, thread_root_id ON messages
    FOR EACH ROW EXECUTE FUNCTION search_outbox_enqueue('id');
CREATE TRIGGER pins_search_outbox
    AFTER INSERT OR DELETE ON pins
    FOR EACH ROW EXECUTE FUNCTION search_outbox_enqueue('message_id');
