-- Resumable (tus 1.0) uploads: one row per upload, the state a PATCH on any process resumes
-- from. `received` is the acknowledged offset: only bytes already durable in blob storage are
-- counted. `hash_state` is the running SHA-256 state after `received` bytes, so the hash of a
-- finished upload needs no second read. `job_id` is set, once, by the submit that consumes it.

CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    length     INTEGER NOT NULL CHECK (length >= 0),
    received   INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= length),
    name       TEXT NOT NULL,
    media_type TEXT,
    metadata   TEXT NOT NULL,
    hash_state TEXT NOT NULL,
    sha256     TEXT CHECK ((sha256 IS NULL) = (received < length)),
    blob       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    job_id     TEXT CHECK (job_id IS NULL OR received = length)
);
CREATE INDEX uploads_expiring ON uploads (expires_at) WHERE job_id IS NULL;
CREATE INDEX uploads_by_job ON uploads (job_id) WHERE job_id IS NOT NULL;
