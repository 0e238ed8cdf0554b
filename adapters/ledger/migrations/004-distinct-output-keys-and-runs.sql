-- Distinct inputs of a run never share an output object: the second would overwrite the first.
-- A ledger written before this rule may already hold such pairs. The first input enqueued
-- keeps the key; each later one is marked with the input holding it (output_key_held_by), left
-- out of the unique index, and, if not yet finished, failed with both named, so that it cannot
-- overwrite the first's object. One already done has overwritten it: the mark lets `status`
-- and the worker say so. Nothing is deleted and the migration does not fail on them.
-- The error's words are those of sharedOutputKeyError in core/ledger-rules.ts.
ALTER TABLE ledger_jobs ADD COLUMN output_key_held_by text;

WITH ranked AS (
  SELECT run_id, job_id,
    first_value(uri) OVER holders AS holder,
    row_number() OVER holders AS position
  FROM ledger_jobs
  WINDOW holders AS (PARTITION BY run_id, output_key ORDER BY enqueued_at, job_id)
)
UPDATE ledger_jobs AS job SET
  output_key_held_by = ranked.holder,
  state        = CASE WHEN job.state IN ('pending', 'leased') THEN 'failed' ELSE job.state END,
  claimable_at = CASE WHEN job.state IN ('pending', 'leased') THEN NULL ELSE job.claimable_at END,
  finished_at  = CASE WHEN job.state IN ('pending', 'leased') THEN now() ELSE job.finished_at END,
  last_error   = CASE WHEN job.state IN ('pending', 'leased')
                   THEN 'input: output ' || job.output_key || ' is also the output of ' || ranked.holder
                        || ' in this run; export this input under a new --run-id'
                   ELSE job.last_error END
FROM ranked
WHERE ranked.position > 1 AND job.run_id = ranked.run_id AND job.job_id = ranked.job_id;

CREATE UNIQUE INDEX ledger_jobs_output_key ON ledger_jobs (run_id, output_key) WHERE output_key_held_by IS NULL;
CREATE INDEX ledger_jobs_shared_output_key ON ledger_jobs (run_id) WHERE output_key_held_by IS NOT NULL;

-- The runs a ledger holds, for `status` to list: what the first enqueue said it reads and
-- writes. Runs enqueued before this table have neither.
CREATE TABLE ledger_runs (
  run_id      text        PRIMARY KEY,
  input       text,
  output      text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO ledger_runs (run_id, created_at)
SELECT run_id, min(enqueued_at) FROM ledger_jobs GROUP BY run_id;
