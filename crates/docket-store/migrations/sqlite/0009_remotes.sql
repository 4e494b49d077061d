-- Remotes that fail well (SPEC §4): each remote's circuit breaker, shared by every process, and
-- the jobs paused because a remote they need is down.

-- `remote_unavailable` joins the pause reasons. SQLite cannot alter a CHECK constraint; this is
-- the procedure its documentation gives for loosening one (lang_altertable.html, "making other
-- kinds of table schema changes"): edit the table's text in the schema, which every row
-- already satisfies. The CREATE TABLE below changes the schema cookie, so every open
-- connection reads the new text.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
    SET sql = replace(sql,
        'pause_reason IN (''user'', ''consecutive_failures'')',
        'pause_reason IN (''user'', ''consecutive_failures'', ''remote_unavailable'')')
    WHERE type = 'table' AND name = 'jobs';
PRAGMA writable_schema = RESET;

CREATE TABLE remotes (
    name              TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('up', 'down')),
    -- When it entered this state.
    since             INTEGER NOT NULL,
    -- Transport failures since window_started_at (while up).
    failures          INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_started_at INTEGER,
    last_error        TEXT,
    last_error_at     INTEGER,
    -- While down: when the next probe is due, and how many were made.
    next_probe_at     INTEGER,
    probes            INTEGER NOT NULL DEFAULT 0 CHECK (probes >= 0),
    updated_at        INTEGER NOT NULL,
    CHECK (state = 'up' OR next_probe_at IS NOT NULL)
);

CREATE TABLE remote_waits (
    remote TEXT NOT NULL,
    job_id TEXT NOT NULL,
    since  INTEGER NOT NULL,
    PRIMARY KEY (remote, job_id)
);
