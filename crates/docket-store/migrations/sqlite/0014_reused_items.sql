-- How many of a job's succeeded items reused the stored results of an earlier identical file
-- (deduplication), kept with the job's other counters so a status read stays one row.
ALTER TABLE jobs ADD COLUMN reused BIGINT NOT NULL DEFAULT 0;
