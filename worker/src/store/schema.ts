/**
 * The worker owns its schema: every statement is idempotent and runs once per isolate,
 * so a fresh database (local or a new stack) needs no migration step.
 */
const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS dispatch_receipts (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'created')),
    scheduled INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS dispatch_receipts_created_at ON dispatch_receipts (created_at)",
  // One row per event that left the workflow tier unfinished. `job` is the full event as the
  // workflow received it, so every later attempt sends the same ids and payload.
  `CREATE TABLE IF NOT EXISTS failed_events (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tenant_id TEXT,
    trace_id TEXT NOT NULL,
    job TEXT NOT NULL,
    remaining_steps TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('retrying', 'delivered', 'dead', 'discarded')),
    last_error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  )`,
  "CREATE INDEX IF NOT EXISTS failed_events_listing ON failed_events (created_at, id)",
  "CREATE INDEX IF NOT EXISTS failed_events_status ON failed_events (status, updated_at)",
  `CREATE TABLE IF NOT EXISTS failed_event_attempts (
    event_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    tier TEXT NOT NULL,
    step TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
  )`,
  "CREATE INDEX IF NOT EXISTS failed_event_attempts_event ON failed_event_attempts (event_id, at)",
];

const ready = new WeakMap<D1Database, Promise<unknown>>();

export function ensureSchema(db: D1Database): Promise<unknown> {
  let pending = ready.get(db);
  if (!pending) {
    pending = db.batch(STATEMENTS.map((sql) => db.prepare(sql)));
    pending.catch(() => ready.delete(db));
    ready.set(db, pending);
  }
  return pending;
}
