-- Whether the Meilisearch index is complete: set by the indexer once it has filled the index
-- (and kept on while the queue feeds it), cleared when a host runs without Meilisearch and
-- the queue is turned off. The API asks Meilisearch only while it is set; PostgreSQL
-- answers otherwise.
ALTER TABLE search_index_state ADD COLUMN index_ready boolean NOT NULL DEFAULT false;
