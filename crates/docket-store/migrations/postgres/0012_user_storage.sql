-- Each user's storage, kept as a counter in step with their jobs so that a quota check and
-- `GET /v1/me` never add up blobs: a job records the bytes uploaded with it, and triggers add
-- them to its owner's counter when they are recorded and take them off when the job's row is
-- deleted (by the user, or by retention, after its files are removed).
ALTER TABLE jobs ADD COLUMN upload_bytes BIGINT NOT NULL DEFAULT 0 CHECK (upload_bytes >= 0);

CREATE TABLE user_storage (
    user_id      TEXT PRIMARY KEY,
    upload_bytes BIGINT NOT NULL DEFAULT 0 CHECK (upload_bytes >= 0)
);

CREATE FUNCTION jobs_upload_bytes_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_storage (user_id, upload_bytes)
    VALUES (NEW.user_id, NEW.upload_bytes - OLD.upload_bytes)
    ON CONFLICT (user_id) DO UPDATE
        SET upload_bytes = user_storage.upload_bytes + EXCLUDED.upload_bytes;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_upload_bytes_counted AFTER UPDATE OF upload_bytes ON jobs
FOR EACH ROW WHEN (NEW.upload_bytes <> OLD.upload_bytes)
EXECUTE FUNCTION jobs_upload_bytes_counted();

CREATE FUNCTION jobs_upload_bytes_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_storage SET upload_bytes = upload_bytes - OLD.upload_bytes
    WHERE user_id = OLD.user_id;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_upload_bytes_released AFTER DELETE ON jobs
FOR EACH ROW WHEN (OLD.upload_bytes > 0)
EXECUTE FUNCTION jobs_upload_bytes_released();

-- The jobs already stored: their uploads, through the trigger above.
UPDATE jobs SET upload_bytes = (
    SELECT COALESCE(SUM((payload ->> 'size')::BIGINT), 0) FROM items
    WHERE items.job_id = jobs.id AND payload ->> 'type' = 'upload'
) WHERE kind = 'process';
