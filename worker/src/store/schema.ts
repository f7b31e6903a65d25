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
