-- What `status` shows of each worker's current file beside its totals: bytes of that file read
-- so far, its size (null when not known), and the worker's recent read rate (null before it
-- read anything), from which `status` derives the file's ETA. Null in rows of older workers.
ALTER TABLE ledger_progress
  ADD COLUMN current_bytes      bigint,
  ADD COLUMN current_size_bytes bigint,
  ADD COLUMN bytes_per_second   double precision;
