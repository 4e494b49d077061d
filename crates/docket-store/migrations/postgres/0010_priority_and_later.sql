-- Priorities and later jobs (issue 14). Mirrors the SQLite 0010 migration, which says what
-- each column is for.

DROP INDEX jobs_runnable;
ALTER TABLE jobs DROP COLUMN last_claim_at;
ALTER TABLE jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high'));
ALTER TABLE jobs ADD COLUMN claim_pass BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN held_until BIGINT;
CREATE INDEX jobs_runnable ON jobs (claim_pass, kind) WHERE state IN ('queued', 'running') AND pause_requested = false AND held_until IS NULL;
CREATE INDEX jobs_held ON jobs (held_until) WHERE held_until IS NOT NULL;
