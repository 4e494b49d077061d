-- Schedules (issue 14): recurring jobs. Mirrors the PostgreSQL 0013 migration.
--
-- next_run_at: the next tick (Unix ms). A process that finds it due submits the tick's job
--   with the idempotency key `schedule:{id}:{tick}` (so the jobs table's unique key lets one
--   job through however many processes race), then moves next_run_at on with a compare-and-set
--   on the old value: the database decides, there is no leader. A tick missed while
--   everything was down is still due at start and runs once; the ones after it are skipped.
-- job: the template each tick submits (JSON, as POST /v1/jobs takes it).
-- schedule_runs: the latest ticks and the job each made (or why none), newest kept.

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    job         TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    next_run_at INTEGER,
    last_run_at INTEGER,
    last_job_id TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled = 1;
CREATE INDEX schedules_by_user ON schedules (user_id, id);

CREATE TABLE schedule_runs (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    tick        INTEGER NOT NULL,
    ran_at      INTEGER NOT NULL,
    job_id      TEXT,
    error       TEXT,
    PRIMARY KEY (schedule_id, tick)
);
