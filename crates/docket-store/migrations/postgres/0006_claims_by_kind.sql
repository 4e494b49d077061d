-- Claims by kind: a process claims only jobs of the kinds it has handlers (or listers) for.
-- The kind joins the runnable-jobs and unsealed-jobs indexes after their sort column, so a
-- claim still walks them in claim order and filters on kind from the index alone.
-- Mirrors the SQLite 0006 migration.

DROP INDEX jobs_runnable;
CREATE INDEX jobs_runnable ON jobs (last_claim_at, kind) WHERE state IN ('queued', 'running') AND pause_requested = false;

DROP INDEX jobs_unsealed;
CREATE INDEX jobs_unsealed ON jobs (lister_until NULLS FIRST, kind) WHERE sealed = false AND finished_at IS NULL;
