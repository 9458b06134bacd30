-- Rate limits (functions/core/src/limits.rs): one token bucket per limit and subject (an
-- account, a client address, a user), kept in the database so that every host, Spin and
-- the edge count together. `tokens` were left as of `at`; a row past refilling is useless
-- and is dropped by the sweep.
CREATE TABLE rate_buckets (
    key    text PRIMARY KEY,
    tokens double precision NOT NULL,
    at     timestamptz NOT NULL
);
CREATE INDEX rate_buckets_at_idx ON rate_buckets (at);
