-- A claimed item is `running` from its claim on (its lease must be renewed while it waits in a
-- worker's local queue), but it has only *started* once a worker picked it up. `current_items`
-- shows started items only. Claims reset the flag; heartbeats set it.
ALTER TABLE items ADD COLUMN started BOOLEAN NOT NULL DEFAULT false;
