-- Live progress: every change of an item's state stamps it with the next event number, so a
-- client can ask "what changed after N" (SSE with Last-Event-ID) by index, across processes.
-- SQLite has one writer: the clock is bumped once per write transaction and every state change
-- in that transaction carries its value; (event_seq, id) orders changes totally.
ALTER TABLE items ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_changes ON items (job_id, event_seq, id) WHERE event_seq > 0;
CREATE TABLE event_clock (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO event_clock (only, seq) VALUES (1, 0);

-- Webhooks: a job with a notify_url owes one delivery once it is finished. Deliveries are
-- claimed under a short lease (notify_next_at) so any number of processes can send them.
ALTER TABLE jobs ADD COLUMN notify_url TEXT;
ALTER TABLE jobs ADD COLUMN notify_state TEXT CHECK (notify_state IN ('pending', 'delivered', 'failed'));
ALTER TABLE jobs ADD COLUMN notify_next_at INTEGER;
ALTER TABLE jobs ADD COLUMN notify_attempts TEXT NOT NULL DEFAULT '[]';
CREATE INDEX jobs_notify_due ON jobs (notify_next_at) WHERE notify_state = 'pending';
