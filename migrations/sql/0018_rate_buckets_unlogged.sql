-- Rate-limit buckets are counters, not records: a crash that empties them only gives
-- everyone a fresh burst. Unlogged, a statement that takes a token writes no WAL, so its
-- commit does not wait for a flush (most requests take one before their real work).
ALTER TABLE rate_buckets SET UNLOGGED;
