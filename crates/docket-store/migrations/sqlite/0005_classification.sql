-- Classification: each user's category rules, the learned `auto` model, and which documents
-- were labelled by hand (what `auto` learns from).
CREATE TABLE categories (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    name             TEXT NOT NULL,
    algorithm        TEXT NOT NULL CHECK (algorithm IN ('any', 'all', 'literal', 'regex', 'fuzzy', 'auto')),
    pattern          TEXT NOT NULL DEFAULT '',
    case_insensitive INTEGER NOT NULL DEFAULT 1 CHECK (case_insensitive IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

-- labels_version moves whenever a label or a category changes; a model trained at an older
-- version is stale and retrained in the background.
CREATE TABLE classifiers (
    user_id         TEXT PRIMARY KEY,
    labels_version  INTEGER NOT NULL DEFAULT 1,
    trained_version INTEGER NOT NULL DEFAULT 0,
    model           TEXT,
    trained_at      INTEGER
);

ALTER TABLE documents ADD COLUMN labelled INTEGER NOT NULL DEFAULT 0 CHECK (labelled IN (0, 1));
-- What the document was processed with (extractor version, OCR languages): a file with the
-- same hash and key is not processed again.
ALTER TABLE documents ADD COLUMN options_key TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_processed ON documents (user_id, sha256, options_key);
CREATE INDEX documents_labelled ON documents (user_id) WHERE labelled = 1;
