-- Jobs, items, attempt errors and results. Times are Unix milliseconds.

CREATE TABLE jobs (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('process', 'reindex', 'export', 'publish', 'noop')),
    state                TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    pause_requested      INTEGER NOT NULL DEFAULT 0 CHECK (pause_requested IN (0, 1)),
    pause_reason         TEXT CHECK (pause_reason IN ('user', 'consecutive_failures')),
    created_at           INTEGER NOT NULL,
    started_at           INTEGER,
    updated_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    deadline_at          INTEGER,
    total                INTEGER NOT NULL CHECK (total >= 0),
    pending              INTEGER NOT NULL CHECK (pending >= 0),
    running              INTEGER NOT NULL CHECK (running >= 0),
    retrying             INTEGER NOT NULL CHECK (retrying >= 0),
    succeeded            INTEGER NOT NULL CHECK (succeeded >= 0),
    failed               INTEGER NOT NULL CHECK (failed >= 0),
    cancelled            INTEGER NOT NULL CHECK (cancelled >= 0),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failure_streak       INTEGER NOT NULL DEFAULT 0,
    max_workers          INTEGER CHECK (max_workers > 0),
    max_retries          INTEGER NOT NULL,
    auto_pause_after     INTEGER NOT NULL,
    item_timeout_ms      INTEGER NOT NULL,
    options              TEXT NOT NULL,
    error                TEXT,
    result               TEXT,
    idempotency_key      TEXT,
    last_claim_at        INTEGER NOT NULL DEFAULT 0,
    -- finished_at is set exactly when the job is finished.
    CHECK ((state IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    -- a paused job says why; a pause reason exists only while paused or pausing.
    CHECK (state <> 'paused' OR pause_reason IS NOT NULL),
    CHECK (pause_reason IS NULL OR state = 'paused' OR pause_requested = 1),
    CHECK (pause_requested = 0 OR state IN ('queued', 'running')),
    CHECK (total = pending + running + retrying + succeeded + failed + cancelled)
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_by_user ON jobs (user_id, id);
CREATE INDEX jobs_runnable ON jobs (last_claim_at) WHERE state IN ('queued', 'running') AND pause_requested = 0;
CREATE INDEX jobs_unfinished_deadline ON jobs (deadline_at) WHERE finished_at IS NULL AND deadline_at IS NOT NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TRIGGER jobs_legal_transition BEFORE UPDATE OF state ON jobs
WHEN NEW.state <> OLD.state AND (OLD.state || '>' || NEW.state) NOT IN (
    'queued>running', 'queued>paused', 'queued>cancelled', 'queued>failed',
    'running>paused', 'running>completed', 'running>failed', 'running>cancelled',
    'paused>running', 'paused>cancelled', 'paused>failed')
BEGIN
    SELECT RAISE(ABORT, 'illegal job transition');
END;

CREATE TABLE items (
    id              INTEGER PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT 'null',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
    stage           TEXT NOT NULL DEFAULT 'queued',
    progress        REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    worker_id       TEXT,
    lease_until     INTEGER,
    next_attempt_at INTEGER,
    failure_streak  INTEGER,
    checkpoint      TEXT,
    document_id     TEXT,
    -- a running item is held by exactly one worker under a lease; nothing else is.
    CHECK ((state = 'running') = (worker_id IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((state = 'retrying') = (next_attempt_at IS NOT NULL))
);

CREATE INDEX items_by_job ON items (job_id, id);
CREATE INDEX items_pending ON items (job_id, id) WHERE state = 'pending';
CREATE INDEX items_retrying ON items (job_id, next_attempt_at) WHERE state = 'retrying';
CREATE INDEX items_running ON items (job_id) WHERE state = 'running';
CREATE INDEX items_failed_streak ON items (job_id, failure_streak) WHERE state = 'failed';

CREATE TRIGGER items_legal_transition BEFORE UPDATE OF state ON items
WHEN NEW.state <> OLD.state AND (OLD.state || '>' || NEW.state) NOT IN (
    'pending>running', 'pending>cancelled',
    'running>succeeded', 'running>failed', 'running>cancelled', 'running>retrying', 'running>pending',
    'retrying>running', 'retrying>cancelled',
    'failed>pending')
BEGIN
    SELECT RAISE(ABORT, 'illegal item transition');
END;

CREATE TABLE item_errors (
    id        INTEGER PRIMARY KEY,
    item_id   INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    message   TEXT NOT NULL,
    transient INTEGER NOT NULL CHECK (transient IN (0, 1))
);
CREATE INDEX item_errors_by_item ON item_errors (item_id);

-- One result per item, whatever happens: written with an upsert keyed by the item.
CREATE TABLE results (
    item_id    INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    job_id     TEXT NOT NULL,
    output     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX results_by_job ON results (job_id, item_id);
