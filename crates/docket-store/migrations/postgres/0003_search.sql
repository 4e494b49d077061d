-- Full-text search over documents, in the database itself: a generated tsvector (name weighted
-- above text) with a GIN index, always consistent with the stored documents.

ALTER TABLE documents ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(text, '')), 'B')
) STORED;

CREATE INDEX documents_search ON documents USING GIN (search);
