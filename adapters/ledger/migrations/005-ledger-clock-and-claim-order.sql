-- The ledger's clock, read by every statement: the session setting cc_ledger.now_ms (epoch
-- milliseconds) when set, else the transaction's now(). Production never sets it; a test sets
-- it on its connection so that leases expire and retries come due without real waits, and so
-- that the SQL can be run step for step beside the pure ledger machine (core/ledger-machine.ts).
-- STABLE: one value for the whole statement, as now() is.
CREATE FUNCTION cc_ledger_now() RETURNS timestamptz
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(to_timestamp(nullif(current_setting('cc_ledger.now_ms', true), '')::float8 / 1000), now()) $$;

ALTER TABLE ledger_jobs ALTER COLUMN enqueued_at SET DEFAULT cc_ledger_now();
ALTER TABLE ledger_progress ALTER COLUMN updated_at SET DEFAULT cc_ledger_now();
ALTER TABLE ledger_runs ALTER COLUMN created_at SET DEFAULT cc_ledger_now();

-- Claim order: the oldest claimable_at first, ties in enqueue order (a batch enqueued together
-- shares one claimable_at). Before, ties came out in whatever order the index held them, so
-- the claims of a run could not be predicted, nor compared with the machine's. Jobs already
-- there are numbered by when they were enqueued.
CREATE SEQUENCE ledger_jobs_seq;
ALTER TABLE ledger_jobs ADD COLUMN seq bigint;
ALTER SEQUENCE ledger_jobs_seq OWNED BY ledger_jobs.seq;
UPDATE ledger_jobs AS job SET seq = numbered.position
FROM (SELECT run_id, job_id, row_number() OVER (ORDER BY enqueued_at, job_id) AS position FROM ledger_jobs) AS numbered
WHERE job.run_id = numbered.run_id AND job.job_id = numbered.job_id;
SELECT setval('ledger_jobs_seq', coalesce(max(seq), 0) + 1, false) FROM ledger_jobs;
ALTER TABLE ledger_jobs ALTER COLUMN seq SET DEFAULT nextval('ledger_jobs_seq'), ALTER COLUMN seq SET NOT NULL;

CREATE INDEX ledger_jobs_claim_order ON ledger_jobs (run_id, claimable_at, seq) WHERE claimable_at IS NOT NULL;
DROP INDEX ledger_jobs_claimable;
