-- A leaner event store. D1 bills every row written, and every index entry an insert or update
-- adds is a row written. An event that is delivered at its first call now writes its row (and
-- the primary key's entry) once and its state once: no index holds it unless something is
-- scheduled for it.

-- Every query that reads `events` by something other than its id, and what serves it:
--   events_due (state, due_at), only rows with a due time: creation claims that ended
--     (store/claims.ts claimOverdue), instance checks (claimChecks), overdue recovery deliveries
--     (recovery/reconciler.ts resendOverdue), settled rows due for compaction or deletion
--     (store/retention.ts); `due_at <= ?` implies `due_at IS NOT NULL`, so the partial index serves.
--   events_failed (failed_at, id): the operator API's and the console's failure pages.
--   rowid ranges (the table's own order, no index): the creation tail and the retention walks
--     (store/cursors.ts), which read rows in the order they were written.
-- events_updated and events_live served only the retention sweep's scans by updated_at, which
-- the walks replace.
DROP INDEX IF EXISTS events_updated;
DROP INDEX IF EXISTS events_live;
DROP INDEX IF EXISTS events_due;
CREATE INDEX events_due ON events (state, due_at) WHERE due_at IS NOT NULL;

-- How far each walk over `events` (in rowid order) has got: `position` is the last rowid it has
-- dealt with, `token` the run that moved it last (every move is a compare-and-set on position,
-- and what a move covers is written only under its token, so of two overlapping runs only one
-- acts). `keep_ms` is the retention the sweep last ran with: a row that settles after the
-- retention walk passed it is scheduled for compaction that long after it settles.
CREATE TABLE cursors (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL DEFAULT 0,
  token INTEGER NOT NULL DEFAULT 0,
  keep_ms INTEGER,
  updated_at INTEGER NOT NULL DEFAULT 0
);
-- Rows written before this migration that still need a creation have a due time (the previous
-- release gave every new row one), so the creation tail starts after them. The retention walks
-- start from the beginning: they find what the dropped indexes used to.
INSERT INTO cursors (name, position) SELECT 'creation', COALESCE(MAX(rowid), 0) FROM events;
INSERT INTO cursors (name, position) VALUES ('retention', 0), ('tombstones', 0);
