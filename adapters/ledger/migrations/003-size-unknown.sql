-- A `warc.paths` manifest lists paths without sizes: such a job is enqueued with a null size,
-- and the worker that claims it asks the source.
ALTER TABLE ledger_jobs ALTER COLUMN size_bytes DROP NOT NULL;
