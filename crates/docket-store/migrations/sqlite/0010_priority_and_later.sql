-- Priorities and later jobs (issue 14). Mirrors the PostgreSQL 0010 migration.
--
-- priority: the job's weight in fair sharing (low 1, normal 2, high 4).
-- claim_pass: the job's place in claim order (stride scheduling): each claimed item moves it
--   back by its priority's stride (4 / weight), and a job that comes back after waiting
--   starts from the front runner's pass, so shares follow the weights and nobody starves.
--   It replaces last_claim_at (least recently served first, which shares equally).
-- held_until: set while a job with options.not_before waits; claims skip held jobs (they
--   are not in the runnable index) and the releaser clears it once the time has come.
--   options.not_before keeps the time for the resource.

DROP INDEX jobs_runnable;
ALTER TABLE jobs DROP COLUMN last_claim_at;
ALTER TABLE jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high'));
ALTER TABLE jobs ADD COLUMN claim_pass INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN held_until INTEGER;
CREATE INDEX jobs_runnable ON jobs (claim_pass, kind) WHERE state IN ('queued', 'running') AND pause_requested = 0 AND held_until IS NULL;
CREATE INDEX jobs_held ON jobs (held_until) WHERE held_until IS NOT NULL;
