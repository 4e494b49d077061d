-- Resumable (tus 1.0) uploads. Mirrors the SQLite 0011 migration.

CREATE TABLE uploads (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    length     BIGINT NOT NULL CHECK (length >= 0),
    received   BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= length),
    name       TEXT NOT NULL,
    media_type TEXT,
    metadata   TEXT NOT NULL,
    hash_state TEXT NOT NULL,
    sha256     TEXT CHECK ((sha256 IS NULL) = (received < length)),
    blob       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    job_id     TEXT COLLATE "C" CHECK (job_id IS NULL OR received = length)
);
CREATE INDEX uploads_expiring ON uploads (expires_at) WHERE job_id IS NULL;
CREATE INDEX uploads_by_job ON uploads (job_id) WHERE job_id IS NOT NULL;
