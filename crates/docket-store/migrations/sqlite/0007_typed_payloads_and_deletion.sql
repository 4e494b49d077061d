-- Item payloads and job sources become tagged JSON (`{"type": "upload", ...}`, see
-- docket_core::ItemPayload / JobSource). Rows written before keep their fields and gain the tag
-- their shape implies; a noop item that carried nothing (`null`) becomes `{"type": "noop"}`.
UPDATE items SET payload = json_set(payload, '$.type', 'upload')
    WHERE json_type(payload) = 'object' AND json_type(payload, '$.type') IS NULL
    AND json_type(payload, '$.blob') = 'text';
UPDATE items SET payload = json_set(payload, '$.type', 'server_file')
    WHERE json_type(payload) = 'object' AND json_type(payload, '$.type') IS NULL
    AND json_type(payload, '$.path') = 'text';
UPDATE items SET payload = json_set(payload, '$.type', 'document')
    WHERE json_type(payload) = 'object' AND json_type(payload, '$.type') IS NULL
    AND json_type(payload, '$.document_id') = 'text';
UPDATE items SET payload = json_set(payload, '$.type', 'noop')
    WHERE json_type(payload) = 'object' AND json_type(payload, '$.type') IS NULL
    AND json_type(payload, '$.sleep_ms') = 'integer';
UPDATE items SET payload = '{"type":"noop"}'
    WHERE json_type(payload) = 'null'
    AND job_id IN (SELECT id FROM jobs WHERE kind = 'noop');
UPDATE jobs SET source = json_set(source, '$.type', 'folder')
    WHERE source IS NOT NULL AND json_type(source) = 'object'
    AND json_type(source, '$.type') IS NULL AND json_type(source, '$.path') = 'text';
UPDATE jobs SET source = json_set(source, '$.type', 'documents')
    WHERE source IS NOT NULL AND json_type(source) = 'object'
    AND json_type(source, '$.type') IS NULL AND json_type(source, '$.documents_of') = 'text';

-- Durable deletion: a deleted job is marked (hidden from every read at once) and a background
-- pass removes its files, then its rows; a failed pass is retried at deletion_retry_at.
ALTER TABLE jobs ADD COLUMN deleted_at INTEGER;
ALTER TABLE jobs ADD COLUMN deletion_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN deletion_retry_at INTEGER;
ALTER TABLE jobs ADD COLUMN deletion_error TEXT;
CREATE INDEX jobs_deleted ON jobs (deletion_retry_at) WHERE deleted_at IS NOT NULL;
