import { DATABASE } from "../topology.ts";

/**
 * Every migration this release's code needs, by file name: the build fills it in from
 * worker/migrations (esbuild `define`), so the list cannot drift from the folder.
 */
declare const JOBS_MIGRATIONS: readonly string[];

/** The database lacks a migration this release needs: nothing is written until it has it. */
export class SchemaNotReadyError extends Error {
  override readonly name = "SchemaNotReadyError";
  readonly missing: readonly string[];
  constructor(missing: readonly string[]) {
    super(
      `Database schema is behind this release: ${missing.length === 1 ? "migration" : "migrations"} ${missing.join(", ")} not applied`,
    );
    this.missing = missing;
  }
}

const NO_TABLE = /no such table/i;

async function verify(db: D1Database): Promise<void> {
  const required = JOBS_MIGRATIONS;
  let applied: Set<string>;
  try {
    const { results } = await db
      .prepare(`SELECT name FROM ${DATABASE.migrationsTable}`)
      .all<{ name: string }>();
    applied = new Set(results.map((r) => r.name));
  } catch (error) {
    if (!(error instanceof Error && NO_TABLE.test(error.message))) throw error;
    applied = new Set();
  }
  const missing = required.filter((name) => !applied.has(name));
  if (missing.length > 0) throw new SchemaNotReadyError(missing);
}

const ready = new WeakMap<D1Database, Promise<void>>();

/**
 * Fails closed: resolves once the database has every migration this release needs, and throws
 * `SchemaNotReadyError` (or the store's own error) otherwise, before anything is read or
 * written. Checked once per isolate; a failed check is checked again on the next call, so a
 * deploy that applies the migrations late is picked up without a restart. Migrations are
 * applied by the deploy (infra/migrations.ts) and by the local runtimes, never by the worker:
 * two releases running side by side must never race to change the schema.
 */
export function requireSchema(db: D1Database): Promise<void> {
  let pending = ready.get(db);
  if (!pending) {
    pending = verify(db);
    pending.catch(() => ready.delete(db));
    ready.set(db, pending);
  }
  return pending;
}
