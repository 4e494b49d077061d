-- Jobs listed from a source (a server folder) are created unsealed and listed by a worker
-- under a lease; tokens for the API; documents, the stored outcome of processed files.
-- Mirrors the SQLite 0002 migration.

ALTER TABLE jobs ADD COLUMN source JSONB;
ALTER TABLE jobs ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE jobs ADD COLUMN lister_id TEXT;
ALTER TABLE jobs ADD COLUMN lister_until BIGINT;
-- NULLS FIRST: a listing nobody ever took comes first, as in SQLite (where NULLs sort first),
-- and the claim's `ORDER BY lister_until NULLS FIRST` can walk this index.
CREATE INDEX jobs_unsealed ON jobs (lister_until NULLS FIRST) WHERE sealed = false AND finished_at IS NULL;

CREATE TABLE tokens (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    hash       TEXT COLLATE "C" NOT NULL UNIQUE,
    label      TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE documents (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    job_id     TEXT COLLATE "C",
    -- One document per item, whatever retries happen; kept when its job is deleted.
    item_id    BIGINT UNIQUE REFERENCES items (id) ON DELETE SET NULL,
    name       TEXT NOT NULL,
    sha256     TEXT COLLATE "C" NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL CHECK (size >= 0),
    pages      BIGINT NOT NULL DEFAULT 0 CHECK (pages >= 0),
    text       TEXT NOT NULL,
    category   TEXT,
    confidence DOUBLE PRECISION CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    metadata   JSONB NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX documents_by_user ON documents (user_id, id);
CREATE INDEX documents_by_job ON documents (job_id, id);
CREATE INDEX documents_by_hash ON documents (user_id, sha256);
