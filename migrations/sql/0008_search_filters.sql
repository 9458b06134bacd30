-- The filters `in:`, `from:` and `has:link` become words of `search_tsv` that no message text
-- can produce (text words never hold a colon: punctuation is split away), so the GIN index
-- intersects them with the searched words. As row filters they were checked per matching
-- row: a common word with one author or with a link read tens of thousands of rows.
ALTER TABLE messages DROP COLUMN search_tsv;
ALTER TABLE messages
    ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', regexp_replace(text, '[[:punct:][:space:]]+', ' ', 'g'))
         || ('''in:' || channel_id::text || ''' ''from:' || author_id::text || '''')::tsvector
         || CASE WHEN text ~* 'https?://' THEN '''has:link'''::tsvector ELSE ''::tsvector END) STORED;
CREATE INDEX messages_search_tsv_idx ON messages USING gin (search_tsv);
ALTER TABLE messages ALTER COLUMN search_tsv SET STATISTICS 1000;
