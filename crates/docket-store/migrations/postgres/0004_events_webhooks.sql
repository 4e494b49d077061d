-- Live progress: every change of an item's state stamps it with the next event number, so a
-- client can ask "what changed after N" (SSE with Last-Event-ID) by index, across processes.
-- Numbers are taken after the job row is locked (every state change locks its job first), so
-- within one job they are handed out in commit order: a reader never sees N+1 before N.
ALTER TABLE items ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
CREATE SEQUENCE item_event_seq;
CREATE INDEX items_changes ON items (job_id, event_seq, id) WHERE event_seq > 0;

-- Webhooks: a job with a notify_url owes one delivery once it is finished. Deliveries are
-- claimed under a short lease (notify_next_at) so any number of processes can send them.
ALTER TABLE jobs ADD COLUMN notify_url TEXT;
ALTER TABLE jobs ADD COLUMN notify_state TEXT CHECK (notify_state IN ('pending', 'delivered', 'failed'));
ALTER TABLE jobs ADD COLUMN notify_next_at BIGINT;
ALTER TABLE jobs ADD COLUMN notify_attempts JSONB NOT NULL DEFAULT '[]';
CREATE INDEX jobs_notify_due ON jobs (notify_next_at) WHERE notify_state = 'pending';
