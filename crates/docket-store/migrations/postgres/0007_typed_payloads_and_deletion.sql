-- Item payloads and job sources become tagged JSON (`{"type": "upload", ...}`, see
-- docket_core::ItemPayload / JobSource). Rows written before keep their fields and gain the tag
-- their shape implies; a noop item that carried nothing (`null`) becomes `{"type": "noop"}`.
UPDATE items SET payload = payload || '{"type": "upload"}'
    WHERE jsonb_typeof(payload) = 'object' AND NOT payload ? 'type'
    AND jsonb_typeof(payload -> 'blob') = 'string';
UPDATE items SET payload = payload || '{"type": "server_file"}'
    WHERE jsonb_typeof(payload) = 'object' AND NOT payload ? 'type'
    AND jsonb_typeof(payload -> 'path') = 'string';
UPDATE items SET payload = payload || '{"type": "document"}'
    WHERE jsonb_typeof(payload) = 'object' AND NOT payload ? 'type'
    AND jsonb_typeof(payload -> 'document_id') = 'string';
UPDATE items SET payload = payload || '{"type": "noop"}'
    WHERE jsonb_typeof(payload) = 'object' AND NOT payload ? 'type'
    AND jsonb_typeof(payload -> 'sleep_ms') = 'number';
UPDATE items SET payload = '{"type": "noop"}'
    WHERE jsonb_typeof(payload) = 'null'
    AND job_id IN (SELECT id FROM jobs WHERE kind = 'noop');
UPDATE jobs SET source = source || '{"type": "folder"}'
    WHERE jsonb_typeof(source) = 'object' AND NOT source ? 'type'
    AND jsonb_typeof(source -> 'path') = 'string';
UPDATE jobs SET source = source || '{"type": "documents"}'
    WHERE jsonb_typeof(source) = 'object' AND NOT source ? 'type'
    AND jsonb_typeof(source -> 'documents_of') = 'string';

-- Durable deletion: a deleted job is marked (hidden from every read at once) and a background
-- pass removes its files, then its rows; a failed pass is retried at deletion_retry_at.
ALTER TABLE jobs ADD COLUMN deleted_at BIGINT;
ALTER TABLE jobs ADD COLUMN deletion_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN deletion_retry_at BIGINT;
ALTER TABLE jobs ADD COLUMN deletion_error TEXT;
CREATE INDEX jobs_deleted ON jobs (deletion_retry_at) WHERE deleted_at IS NOT NULL;
