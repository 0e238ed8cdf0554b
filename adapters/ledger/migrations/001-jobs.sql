-- Jobs of every run. One row per (run, input); job_id is a hash of the input's URI, so
-- enqueuing the same input twice is one row.
--
-- claimable_at carries the whole claim rule in one indexed column:
--   pending: when the job may be claimed (now, or after a retry delay);
--   leased:  when the lease expires (a dead worker's job becomes claimable then);
--   done, failed: NULL (never claimable again).
-- A claim is then one range scan of a partial index, whatever the run's size.
CREATE TABLE ledger_jobs (
  run_id            text        NOT NULL,
  job_id            text        NOT NULL,
  uri               text        NOT NULL,
  input             jsonb       NOT NULL,
  size_bytes        bigint      NOT NULL CHECK (size_bytes >= 0),
  output_key        text        NOT NULL,
  state             text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'leased', 'done', 'failed')),
  -- Bumped by every claim: the fencing token of the lease.
  attempt           integer     NOT NULL DEFAULT 0,
  -- Claims that may have ended badly (releases are given back): bounded by attemptsMax.
  charged_attempts  integer     NOT NULL DEFAULT 0,
  lease_owner       text,
  claimable_at      timestamptz,
  last_error        text,
  rows_written      bigint,
  input_bytes       bigint,
  output_bytes      bigint,
  counters          jsonb,
  enqueued_at       timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  PRIMARY KEY (run_id, job_id),
  CHECK ((state IN ('pending', 'leased')) = (claimable_at IS NOT NULL))
);

CREATE INDEX ledger_jobs_claimable ON ledger_jobs (run_id, claimable_at)
  WHERE claimable_at IS NOT NULL;
