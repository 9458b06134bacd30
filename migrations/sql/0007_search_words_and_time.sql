-- Words for search are runs of letters and digits, split at everything else, as the query
-- side (`ocomms_core::search::words`) and Meilisearch split them. PostgreSQL's parser keeps
-- URLs, hosts, paths, file names and hyphenated words as tokens of their own, so "runbook"
-- did not match "https://example.com/runbook"; punctuation now becomes spaces first.
ALTER TABLE messages DROP COLUMN search_tsv;
ALTER TABLE messages
    ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', regexp_replace(text, '[[:punct:][:space:]]+', ' ', 'g'))) STORED;
CREATE INDEX messages_search_tsv_idx ON messages USING gin (search_tsv);
-- The planner's word frequencies: with the default 100 most common words it takes any other
-- word for a rare one and reads all its messages, where walking back in time would stop after
-- a page.
ALTER TABLE messages ALTER COLUMN search_tsv SET STATISTICS 1000;

-- Newest-first searches and date filters walk messages by time; relevance ranks the newest
-- matches, found the same way for common words.
CREATE INDEX messages_created_at_idx ON messages (created_at);
