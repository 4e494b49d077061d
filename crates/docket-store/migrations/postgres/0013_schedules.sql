-- Schedules (issue 14). Mirrors the SQLite 0013 migration, which says what each column is for.

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    job         TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT true,
    next_run_at BIGINT,
    last_run_at BIGINT,
    last_job_id TEXT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled;
CREATE INDEX schedules_by_user ON schedules (user_id, id);

CREATE TABLE schedule_runs (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    tick        BIGINT NOT NULL,
    ran_at      BIGINT NOT NULL,
    job_id      TEXT,
    error       TEXT,
    PRIMARY KEY (schedule_id, tick)
);
