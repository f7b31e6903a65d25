-- The schema of the first release. Every statement is IF NOT EXISTS so that applying this file
-- adopts a database that release created for itself (tables present, no d1_migrations yet)
-- without touching a row. Later migrations are plain: each runs exactly once.

-- One row per accepted event, written before the producer hears "accepted": the outbox the
-- worker creates instances from, the receipt that makes re-sends idempotent, and the record of
-- how the event ended. `job` is the event exactly as dispatched (NULL once compacted after
-- retention: the id and digest stay, so a late re-send is still recognised). `due_at` is when
-- the reconciler should look at the row next: a creation claim's expiry, an instance check, or
-- a recovery delivery that should have happened by then. `state` has no CHECK list: states are
-- enforced by the guarded transitions (lifecycle/machine.ts), and a new state must not need a
-- table rebuild.
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  tenant_id TEXT,
  trace_id TEXT NOT NULL,
  job TEXT,
  state TEXT NOT NULL,
  run_at INTEGER,
  due_at INTEGER,
  create_attempts INTEGER NOT NULL DEFAULT 0,
  remaining_steps TEXT NOT NULL DEFAULT '[]',
  last_error TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  replays INTEGER NOT NULL DEFAULT 0,
  failed_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, due_at);
CREATE INDEX IF NOT EXISTS events_failed ON events (failed_at, id) WHERE failed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_updated ON events (state, updated_at);
-- The retention sweep's scan: settled rows not yet compacted, without walking the tombstones.
CREATE INDEX IF NOT EXISTS events_live ON events (state, updated_at) WHERE job IS NOT NULL;

CREATE TABLE IF NOT EXISTS event_history (
  event_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  tier TEXT NOT NULL,
  step TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS event_history_event ON event_history (event_id, at);
-- The console's last-24-hours chart reads history by time.
CREATE INDEX IF NOT EXISTS event_history_at ON event_history (at);

-- Backend calls per minute (minute = epoch ms / 60,000), for the failure-rate alert and the
-- console. Successful calls are added inside writes that happen anyway (a delivery receipt, a
-- hand-over, a recovery step); failed ones by a small upsert of their own (backend-calls.ts).
CREATE TABLE IF NOT EXISTS backend_calls (
  minute INTEGER PRIMARY KEY,
  ok INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0
);

-- One row per alert condition: what the webhook was last told (`status`), how far the dead
-- events were counted (`cursor`, an event_history rowid), and a sender's claim. Every change is
-- a compare-and-set on `version`, so overlapping scheduled runs send one alert, not two.
CREATE TABLE IF NOT EXISTS alert_state (
  condition TEXT PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'clear',
  cursor INTEGER NOT NULL DEFAULT 0,
  claimed_until INTEGER,
  version INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
);
