/**
 * The SQL of the PostgreSQL ledger. Tables are unqualified: each connection's search_path is
 * set to the ledger's schema. Every time is the database's, read through `cc_ledger_now()`
 * (migration 005: `now()`, unless a test set the session's `cc_ledger.now_ms`), never a
 * worker's clock, so workers whose clocks disagree still agree on who holds a lease.
 *
 * The rules are those of the pure ledger machine (core/ledger-machine.ts), which the embedded
 * ledger and the simulator run; test/adapters/ledger-postgres-model.test.ts runs random command
 * sequences against this SQL and the machine and asserts the same answers.
 *
 * A write after a claim is fenced by one predicate: the row is still leased, with the
 * attempt number the claim handed out, and the lease has not expired. A worker whose lease
 * expired (and perhaps was claimed again, bumping the attempt) matches no row: its write
 * changes nothing and it is told so.
 */

const milliseconds = "* interval '1 millisecond'";

const fencedLease = `run_id = $1 AND job_id = $2 AND attempt = $3 AND state = 'leased' AND claimable_at > cc_ledger_now()`;

/**
 * $1 run, $2 job ids, $3 uris, $4 inputs (json), $5 sizes, $6 output keys, $7 and $8 the run's
 * input and output (null when not given). Without a conflict target, a row conflicting with
 * either unique index — the job already there (the same input again), or its output key held
 * by another input — is skipped, never an error that would refuse the whole batch; the caller
 * tells the two apart with `outputKeyHoldersSql`. The run's row is written by its first
 * enqueue; a later one only fills in an origin an older worker left out.
 */
export const enqueueSql = `
  WITH run AS (
    INSERT INTO ledger_runs (run_id, input, output) VALUES ($1, $7, $8)
    ON CONFLICT (run_id) DO UPDATE SET input = excluded.input, output = excluded.output
      WHERE ledger_runs.input IS NULL AND excluded.input IS NOT NULL
  )
  INSERT INTO ledger_jobs (run_id, job_id, uri, input, size_bytes, output_key, claimable_at)
  SELECT $1, job_id, uri, input, size_bytes, output_key, cc_ledger_now()
  FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[])
    AS batch (job_id, uri, input, size_bytes, output_key)
  ON CONFLICT DO NOTHING
  RETURNING job_id`;

/**
 * $1 run, $2 job ids, $3 output keys: of inputs an enqueue skipped, those that are not jobs of
 * the run, with the input holding their output key. A separate statement, so that it sees rows
 * committed by concurrent enqueues after the insert's snapshot.
 */
export const outputKeyHoldersSql = `
  SELECT skipped.job_id, holder.uri AS held_by
  FROM unnest($2::text[], $3::text[]) AS skipped (job_id, output_key)
  JOIN ledger_jobs AS holder ON holder.run_id = $1 AND holder.output_key = skipped.output_key
    AND holder.output_key_held_by IS NULL AND holder.job_id <> skipped.job_id
  WHERE NOT EXISTS (SELECT 1 FROM ledger_jobs AS own WHERE own.run_id = $1 AND own.job_id = skipped.job_id)`;

/**
 * $1 run, $2 count, $3 worker, $4 lease ms, $5 attemptsMax, $6 error of a job given up.
 * Takes the longest-claimable jobs (ties in enqueue order), skipping rows another claimer has locked, so claimers
 * never wait on each other. A job whose lease expired on its last allowed attempt is failed
 * here instead of handed out again (a worker that dies on an input every time must not
 * loop forever); it comes back with state 'failed' and the caller drops it.
 */
export const claimSql = `
  WITH candidate AS (
    SELECT job_id, (state = 'leased' AND charged_attempts >= $5) AS give_up
    FROM ledger_jobs
    WHERE run_id = $1 AND claimable_at <= cc_ledger_now()
    ORDER BY claimable_at, seq
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE ledger_jobs AS job SET
    state            = CASE WHEN candidate.give_up THEN 'failed' ELSE 'leased' END,
    attempt          = job.attempt + CASE WHEN candidate.give_up THEN 0 ELSE 1 END,
    charged_attempts = job.charged_attempts + CASE WHEN candidate.give_up THEN 0 ELSE 1 END,
    lease_owner      = CASE WHEN candidate.give_up THEN job.lease_owner ELSE $3 END,
    claimable_at     = CASE WHEN candidate.give_up THEN NULL ELSE cc_ledger_now() + $4::float8 ${milliseconds} END,
    last_error       = CASE WHEN candidate.give_up THEN $6 ELSE job.last_error END,
    finished_at      = CASE WHEN candidate.give_up THEN cc_ledger_now() ELSE NULL END
  FROM candidate
  WHERE job.run_id = $1 AND job.job_id = candidate.job_id
  RETURNING job.job_id, job.state, job.input, job.size_bytes::float8 AS size_bytes, job.attempt, job.output_key`;

/** $1 run. Pending (waiting for a retry too) or leased (expired too): the run is not over. */
export const anyOpenJobSql = `
  SELECT EXISTS (SELECT 1 FROM ledger_jobs WHERE run_id = $1 AND claimable_at IS NOT NULL) AS open`;

/** $1 run, $2 worker, $3 lease ms, $4 job ids, $5 attempts. */
export const heartbeatSql = `
  UPDATE ledger_jobs AS job SET claimable_at = cc_ledger_now() + $3::float8 ${milliseconds}
  FROM unnest($4::text[], $5::integer[]) AS lease (job_id, attempt)
  WHERE job.run_id = $1 AND job.job_id = lease.job_id AND job.attempt = lease.attempt
    AND job.lease_owner = $2 AND job.state = 'leased' AND job.claimable_at > cc_ledger_now()
  RETURNING job.job_id, job.attempt`;

/** $1 run, $2 job, $3 attempt, $4 rows, $5 input bytes, $6 output bytes, $7 counters. */
export const completeSql = `
  UPDATE ledger_jobs SET state = 'done', claimable_at = NULL, finished_at = cc_ledger_now(),
    rows_written = $4, input_bytes = $5, output_bytes = $6, counters = $7
  WHERE ${fencedLease}`;

/**
 * $1 run, $2 job, $3 attempt. Whether this attempt completed the job already: asked when the
 * fenced UPDATE matched nothing, so that a write whose COMMIT landed but whose answer was lost
 * (a connection dropped) hears "done" when it is sent again, and not "lease lost". A done job
 * is never claimed again, so the answer cannot change once it is true.
 */
export const completedBySql = `
  SELECT EXISTS (
    SELECT 1 FROM ledger_jobs WHERE run_id = $1 AND job_id = $2 AND attempt = $3 AND state = 'done'
  ) AS done`;

/**
 * $1 run, $2 job, $3 attempt, $4 retryable, $5 attemptsMax, $6 retry base ms, $7 retry cap ms,
 * $8 last error. The delay is retryBaseMs × 2^(charged − 1), capped: the formula of
 * `jobRetryDelayMs` in core/ledger-rules.ts.
 */
export const failSql = `
  UPDATE ledger_jobs SET
    state        = CASE WHEN $4 AND charged_attempts < $5 THEN 'pending' ELSE 'failed' END,
    claimable_at = CASE WHEN $4 AND charged_attempts < $5
                     THEN cc_ledger_now() + least($7::float8, $6::float8 * power(2::float8, least(greatest(charged_attempts - 1, 0), 30))) ${milliseconds}
                     ELSE NULL END,
    finished_at  = CASE WHEN $4 AND charged_attempts < $5 THEN NULL ELSE cc_ledger_now() END,
    last_error   = $8
  WHERE ${fencedLease}`;

/** $1 run, $2 job, $3 attempt. Claimable at once; the attempt is given back. */
export const releaseSql = `
  UPDATE ledger_jobs SET state = 'pending', claimable_at = cc_ledger_now(), charged_attempts = charged_attempts - 1
  WHERE ${fencedLease}`;

/** $1 run, $2 attemptsMax, $3 last error. Returns one row per expired lease, with its new state. */
export const reclaimExpiredSql = `
  WITH expired AS (
    SELECT job_id FROM ledger_jobs
    WHERE run_id = $1 AND state = 'leased' AND claimable_at <= cc_ledger_now()
    FOR UPDATE SKIP LOCKED
  )
  UPDATE ledger_jobs AS job SET
    state        = CASE WHEN job.charged_attempts >= $2 THEN 'failed' ELSE 'pending' END,
    claimable_at = CASE WHEN job.charged_attempts >= $2 THEN NULL ELSE cc_ledger_now() END,
    finished_at  = CASE WHEN job.charged_attempts >= $2 THEN cc_ledger_now() ELSE NULL END,
    last_error   = CASE WHEN job.charged_attempts >= $2 THEN $3 ELSE job.last_error END
  FROM expired
  WHERE job.run_id = $1 AND job.job_id = expired.job_id
  RETURNING job.state`;

/** $1 run, $2 worker, $3 current input, $4 records, $5 bytes, $6 bad records, $7 status. */
export const progressSql = `
  INSERT INTO ledger_progress (run_id, worker_id, current_input, records, bytes, bad_records, status, updated_at,
    current_bytes, current_size_bytes, bytes_per_second)
  VALUES ($1, $2, $3, $4, $5, $6, $7, cc_ledger_now(), $8, $9, $10)
  ON CONFLICT (run_id, worker_id) DO UPDATE SET current_input = excluded.current_input,
    records = excluded.records, bytes = excluded.bytes, bad_records = excluded.bad_records,
    status = excluded.status, updated_at = excluded.updated_at, current_bytes = excluded.current_bytes,
    current_size_bytes = excluded.current_size_bytes, bytes_per_second = excluded.bytes_per_second`;

/** $1 run. */
export const workerProgressSql = `
  SELECT worker_id, current_input, records::float8 AS records, bytes::float8 AS bytes,
    bad_records::float8 AS bad_records, status, current_bytes::float8 AS current_bytes,
    current_size_bytes::float8 AS current_size_bytes, bytes_per_second
  FROM ledger_progress WHERE run_id = $1 ORDER BY worker_id`;

/** $1 run. */
export const statsSql = `
  SELECT state, count(*)::float8 AS jobs, coalesce(sum(input_bytes), 0)::float8 AS input_bytes,
    coalesce(sum(rows_written), 0)::float8 AS rows_written
  FROM ledger_jobs WHERE run_id = $1 GROUP BY state`;

/**
 * $1 run. The done jobs' stored counts of bad records, skipped records and warnings, summed by
 * key as stored: reason codes, or the free text of results stored before them, which the
 * ledger reads into codes. A field that is not an object, or a count that is not a whole
 * number, is passed over rather than failing `status`.
 */
export const reasonCountsSql = `
  SELECT field.kind, entry.key, sum(entry.value::numeric)::float8 AS records
  FROM ledger_jobs
    CROSS JOIN (VALUES ('bad', 'badByReason'), ('skipped', 'skippedByReason'), ('warning', 'warningByReason'))
      AS field (kind, name)
    CROSS JOIN LATERAL jsonb_each_text(
      CASE WHEN jsonb_typeof(counters -> field.name) = 'object' THEN counters -> field.name ELSE '{}'::jsonb END
    ) AS entry
  WHERE run_id = $1 AND state = 'done' AND entry.value ~ '^[0-9]+$'
  GROUP BY field.kind, entry.key`;

/** $1 run, $2 job. For status and tests: a job's last error after it failed. */
export const jobStateSql = `
  SELECT state, attempt, charged_attempts, last_error FROM ledger_jobs WHERE run_id = $1 AND job_id = $2`;

/** $1 run, $2 limit. */
export const failedJobsSql = `
  SELECT uri, last_error FROM ledger_jobs WHERE run_id = $1 AND state = 'failed' ORDER BY uri LIMIT $2`;

/**
 * $1 run. The failed jobs back to pending, claimable at once, charged attempts at 0; the
 * attempt number, the fencing token, keeps counting. Jobs sharing another's output key stay
 * failed. Returns them as they were (the CTE reads the rows before the update).
 */
export const retryFailedSql = `
  WITH failed AS (
    SELECT job_id, uri, last_error FROM ledger_jobs
    WHERE run_id = $1 AND state = 'failed' AND output_key_held_by IS NULL
    FOR UPDATE
  )
  UPDATE ledger_jobs AS job SET state = 'pending', claimable_at = cc_ledger_now(), charged_attempts = 0,
    lease_owner = NULL, finished_at = NULL
  FROM failed
  WHERE job.run_id = $1 AND job.job_id = failed.job_id
  RETURNING failed.uri, failed.last_error`;

/** $1 run, or null for every run. Epoch milliseconds as float8. */
export const runListingSql = `
  SELECT run.run_id, run.input, run.output,
    coalesce(jobs.pending, 0)::float8 AS pending, coalesce(jobs.leased, 0)::float8 AS leased,
    coalesce(jobs.done, 0)::float8 AS done, coalesce(jobs.failed, 0)::float8 AS failed,
    extract(epoch FROM greatest(run.created_at, jobs.last_finished, progress.last_report)) * 1000 AS last_activity_ms,
    extract(epoch FROM jobs.last_finished) * 1000 AS last_finished_ms
  FROM ledger_runs AS run
  LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'leased') AS leased,
      count(*) FILTER (WHERE state = 'done') AS done, count(*) FILTER (WHERE state = 'failed') AS failed,
      max(finished_at) AS last_finished
    FROM ledger_jobs WHERE run_id = run.run_id
  ) AS jobs ON true
  LEFT JOIN LATERAL (
    SELECT max(updated_at) AS last_report FROM ledger_progress WHERE run_id = run.run_id
  ) AS progress ON true
  WHERE $1::text IS NULL OR run.run_id = $1
  ORDER BY last_activity_ms DESC, run.run_id`;

/** $1 run, $2 limit. */
export const sharedOutputKeysSql = `
  SELECT uri, output_key, output_key_held_by, state FROM ledger_jobs
  WHERE run_id = $1 AND output_key_held_by IS NOT NULL ORDER BY uri LIMIT $2`;
