import { MIGRATIONS_DIR } from "../release/migrations.ts";
import { DATABASE } from "../src/topology.ts";

interface Statement {
  bind(...values: unknown[]): Statement;
  all<T>(): Promise<{ results: T[] }>;
  run(): Promise<unknown>;
}
/** The part of a D1 binding a migration needs (Miniflare's proxy of it included). */
export interface MigratableDatabase {
  prepare(sql: string): Statement;
  batch(statements: Statement[]): Promise<unknown>;
}

const table = DATABASE.migrationsTable;

/**
 * Applies the pending migrations of `dir` the way wrangler's `d1 migrations apply` does: its
 * bookkeeping table, files in order, each file and its bookkeeping row in one batch (D1 runs a
 * batch as one transaction, so a failed file leaves nothing half-applied). Local runtimes call
 * it before the worker serves, as a deploy applies them before the new version goes live.
 * Returns the names it applied.
 */
export async function applyMigrations(db: MigratableDatabase, dir = MIGRATIONS_DIR): Promise<string[]> {
  // wrangler's own reader and statement splitter, so a file means here what it means to wrangler.
  const { readD1Migrations } = await import("@cloudflare/vitest-plugin");
  const migrations = await readD1Migrations(dir);
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS ${table} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT UNIQUE,
        applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
      )`,
    )
    .run();
  const { results } = await db.prepare(`SELECT name FROM ${table}`).all<{ name: string }>();
  const applied = new Set(results.map((r) => r.name));
  const now: string[] = [];
  for (const { name, queries } of migrations) {
    if (applied.has(name)) continue;
    await db.batch([
      ...queries.map((sql) => db.prepare(sql)),
      db.prepare(`INSERT INTO ${table} (name) VALUES (?1)`).bind(name),
    ]);
    now.push(name);
  }
  return now;
}
