-- Full-text search over documents, in the database itself so that it is always consistent
-- with the stored documents: an external-content FTS5 index kept in step by triggers.

CREATE VIRTUAL TABLE documents_fts USING fts5(
    name, text, content = 'documents', content_rowid = 'rowid', tokenize = 'porter unicode61'
);

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, name, text) VALUES (NEW.rowid, NEW.name, NEW.text);
END;

CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, name, text)
    VALUES ('delete', OLD.rowid, OLD.name, OLD.text);
END;

CREATE TRIGGER documents_fts_update AFTER UPDATE OF name, text ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, name, text)
    VALUES ('delete', OLD.rowid, OLD.name, OLD.text);
    INSERT INTO documents_fts (rowid, name, text) VALUES (NEW.rowid, NEW.name, NEW.text);
END;

INSERT INTO documents_fts (documents_fts) VALUES ('rebuild');
