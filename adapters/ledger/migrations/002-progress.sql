-- What each worker of a run is doing, for `status`: one row per worker, overwritten.
CREATE TABLE ledger_progress (
  run_id         text        NOT NULL,
  worker_id      text        NOT NULL,
  current_input  text,
  records        bigint      NOT NULL,
  bytes          bigint      NOT NULL,
  bad_records    bigint      NOT NULL,
  status         text        NOT NULL CHECK (status IN ('running', 'draining', 'stopped')),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, worker_id)
);
