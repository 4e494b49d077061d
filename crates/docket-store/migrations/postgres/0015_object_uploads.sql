-- Resumable uploads on object storage (S3), which cannot append in place: `object_state` is
-- where the upload's S3 multipart upload stands (opaque to the store, moved with `received`
-- in one statement), and `writer` holds the right to write it until `writer_until`, so two
-- PATCHes on any processes never write the same part at once.
ALTER TABLE uploads ADD COLUMN object_state TEXT;
ALTER TABLE uploads ADD COLUMN writer TEXT;
ALTER TABLE uploads ADD COLUMN writer_until BIGINT;
