-- Jobs, items, attempt errors and results. Times are Unix milliseconds (BIGINT), as in the
-- SQLite schema. Text keys use the "C" collation so that they compare byte by byte, like
-- SQLite's BINARY collation (job ids sort by creation time either way).

CREATE TABLE jobs (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    user_id              TEXT COLLATE "C" NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('process', 'reindex', 'export', 'publish', 'noop')),
    state                TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    pause_requested      BOOLEAN NOT NULL DEFAULT false,
    pause_reason         TEXT CHECK (pause_reason IN ('user', 'consecutive_failures')),
    created_at           BIGINT NOT NULL,
    started_at           BIGINT,
    updated_at           BIGINT NOT NULL,
    finished_at          BIGINT,
    deadline_at          BIGINT,
    total                BIGINT NOT NULL CHECK (total >= 0),
    pending              BIGINT NOT NULL CHECK (pending >= 0),
    running              BIGINT NOT NULL CHECK (running >= 0),
    retrying             BIGINT NOT NULL CHECK (retrying >= 0),
    succeeded            BIGINT NOT NULL CHECK (succeeded >= 0),
    failed               BIGINT NOT NULL CHECK (failed >= 0),
    cancelled            BIGINT NOT NULL CHECK (cancelled >= 0),
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    failure_streak       BIGINT NOT NULL DEFAULT 0,
    max_workers          BIGINT CHECK (max_workers > 0),
    max_retries          BIGINT NOT NULL,
    auto_pause_after     BIGINT NOT NULL,
    item_timeout_ms      BIGINT NOT NULL,
    options              JSONB NOT NULL,
    error                TEXT,
    result               JSONB,
    idempotency_key      TEXT COLLATE "C",
    last_claim_at        BIGINT NOT NULL DEFAULT 0,
    -- finished_at is set exactly when the job is finished.
    CHECK ((state IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    -- a paused job says why; a pause reason exists only while paused or pausing.
    CHECK (state <> 'paused' OR pause_reason IS NOT NULL),
    CHECK (pause_reason IS NULL OR state = 'paused' OR pause_requested),
    CHECK (NOT pause_requested OR state IN ('queued', 'running')),
    CHECK (total = pending + running + retrying + succeeded + failed + cancelled)
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_by_user ON jobs (user_id, id);
CREATE INDEX jobs_runnable ON jobs (last_claim_at) WHERE state IN ('queued', 'running') AND pause_requested = false;
CREATE INDEX jobs_unfinished_deadline ON jobs (deadline_at) WHERE finished_at IS NULL AND deadline_at IS NOT NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE FUNCTION jobs_legal_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.state || '>' || NEW.state) NOT IN (
        'queued>running', 'queued>paused', 'queued>cancelled', 'queued>failed',
        'running>paused', 'running>completed', 'running>failed', 'running>cancelled',
        'paused>running', 'paused>cancelled', 'paused>failed') THEN
        RAISE EXCEPTION 'illegal job transition: % -> %', OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER jobs_legal_transition BEFORE UPDATE OF state ON jobs
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION jobs_legal_transition();

CREATE TABLE items (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    payload         JSONB NOT NULL DEFAULT 'null',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
    stage           TEXT NOT NULL DEFAULT 'queued',
    progress        DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    worker_id       TEXT,
    lease_until     BIGINT,
    next_attempt_at BIGINT,
    failure_streak  BIGINT,
    checkpoint      JSONB,
    document_id     TEXT,
    -- a running item is held by exactly one worker under a lease; nothing else is.
    CHECK ((state = 'running') = (worker_id IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((state = 'retrying') = (next_attempt_at IS NOT NULL))
);

-- No statistics on `state`: they go stale within seconds while a big job drains (ANALYZE right
-- after a submit says every item is pending), and then the planner walks the primary key past
-- every item already claimed instead of taking items_pending, making each claim O(job size).
-- Without them every `state = ...` condition looks selective and the partial indexes win.
ALTER TABLE items ALTER COLUMN state SET STATISTICS 0;

CREATE INDEX items_by_job ON items (job_id, id);
CREATE INDEX items_pending ON items (job_id, id) WHERE state = 'pending';
CREATE INDEX items_retrying ON items (job_id, next_attempt_at) WHERE state = 'retrying';
CREATE INDEX items_running ON items (job_id) WHERE state = 'running';
CREATE INDEX items_failed_streak ON items (job_id, failure_streak) WHERE state = 'failed';

CREATE FUNCTION items_legal_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.state || '>' || NEW.state) NOT IN (
        'pending>running', 'pending>cancelled',
        'running>succeeded', 'running>failed', 'running>cancelled', 'running>retrying', 'running>pending',
        'retrying>running', 'retrying>cancelled',
        'failed>pending') THEN
        RAISE EXCEPTION 'illegal item transition: % -> %', OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER items_legal_transition BEFORE UPDATE OF state ON items
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION items_legal_transition();

CREATE TABLE item_errors (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id   BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    attempt   BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    message   TEXT NOT NULL,
    transient BOOLEAN NOT NULL
);
CREATE INDEX item_errors_by_item ON item_errors (item_id);

-- One result per item, whatever happens: written with an upsert keyed by the item.
CREATE TABLE results (
    item_id    BIGINT PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    job_id     TEXT COLLATE "C" NOT NULL,
    output     JSONB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX results_by_job ON results (job_id, item_id);
