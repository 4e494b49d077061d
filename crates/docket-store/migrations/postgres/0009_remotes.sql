-- Remotes that fail well (SPEC §4): each remote's circuit breaker, shared by every process, and
-- the jobs paused because a remote they need is down.

ALTER TABLE jobs DROP CONSTRAINT jobs_pause_reason_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_pause_reason_check
    CHECK (pause_reason IN ('user', 'consecutive_failures', 'remote_unavailable'));

CREATE TABLE remotes (
    name              TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('up', 'down')),
    -- When it entered this state.
    since             BIGINT NOT NULL,
    -- Transport failures since window_started_at (while up).
    failures          BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_started_at BIGINT,
    last_error        TEXT,
    last_error_at     BIGINT,
    -- While down: when the next probe is due, and how many were made.
    next_probe_at     BIGINT,
    probes            BIGINT NOT NULL DEFAULT 0 CHECK (probes >= 0),
    updated_at        BIGINT NOT NULL,
    CHECK (state = 'up' OR next_probe_at IS NOT NULL)
);

CREATE TABLE remote_waits (
    remote TEXT NOT NULL,
    job_id TEXT NOT NULL,
    since  BIGINT NOT NULL,
    PRIMARY KEY (remote, job_id)
);
