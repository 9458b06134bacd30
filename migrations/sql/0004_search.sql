-- Message search on PostgreSQL, the embedded default backend. Words and prefixes go through
-- a generated tsvector (the `simple` configuration: no stemming, any language); text written
-- without spaces between words (Chinese, Japanese, Thai...) through trigrams, which find
-- substrings. Deleted messages have empty text, so they match nothing.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE messages
    ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;

CREATE INDEX messages_search_tsv_idx ON messages USING gin (search_tsv);
CREATE INDEX messages_text_trgm_idx ON messages USING gin (lower(text) gin_trgm_ops);
