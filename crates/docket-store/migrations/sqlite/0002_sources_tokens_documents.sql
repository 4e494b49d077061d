-- Jobs listed from a source (a server folder) are created unsealed and listed by a worker
-- under a lease; tokens for the API; documents, the stored outcome of processed files.

ALTER TABLE jobs ADD COLUMN source TEXT;
ALTER TABLE jobs ADD COLUMN sealed INTEGER NOT NULL DEFAULT 1 CHECK (sealed IN (0, 1));
ALTER TABLE jobs ADD COLUMN lister_id TEXT;
ALTER TABLE jobs ADD COLUMN lister_until INTEGER;
CREATE INDEX jobs_unsealed ON jobs (lister_until) WHERE sealed = 0 AND finished_at IS NULL;

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    label      TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE documents (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    job_id     TEXT,
    -- One document per item, whatever retries happen; kept when its job is deleted.
    item_id    INTEGER UNIQUE REFERENCES items (id) ON DELETE SET NULL,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    pages      INTEGER NOT NULL DEFAULT 0 CHECK (pages >= 0),
    text       TEXT NOT NULL,
    category   TEXT,
    confidence REAL CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX documents_by_user ON documents (user_id, id);
CREATE INDEX documents_by_job ON documents (job_id, id);
CREATE INDEX documents_by_hash ON documents (user_id, sha256);
