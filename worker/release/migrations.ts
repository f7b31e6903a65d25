import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The folder of versioned migrations, in wrangler's D1 format (`NNNN_<name>.sql`). */
export const MIGRATIONS_DIR = join(import.meta.dirname, "..", "migrations");

/** A migration file's name: four digits, an underscore, a name; applied in that order. */
export const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface Migration {
  /** The file name, as wrangler records it in d1_migrations. */
  name: string;
  sql: string;
  sha256: string;
}

export class MigrationFolderError extends Error {
  override readonly name = "MigrationFolderError";
}

/**
 * Every migration of a folder, in order. A file that does not follow the naming rule, or two
 * files with one number, is an error: the order would be a guess.
 */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".sql"));
  } catch {
    return [];
  }
  const numbers = new Map<string, string>();
  for (const file of files) {
    const number = MIGRATION_FILE.exec(file)?.[1];
    if (!number) throw new MigrationFolderError(`${file}: migrations are named NNNN_<lowercase_name>.sql`);
    const other = numbers.get(number);
    if (other) throw new MigrationFolderError(`${file} and ${other} share the number ${number}`);
    numbers.set(number, file);
  }
  return files.sort().map((name) => {
    const sql = readFileSync(join(dir, name), "utf8");
    return { name, sql, sha256: createHash("sha256").update(sql).digest("hex") };
  });
}

/**
 * How the worker learns which migrations it needs: a compile-time constant (`JOBS_MIGRATIONS`
 * in store/schema.ts), defined by the bundle's build and by the test runner alike.
 */
export function migrationsDefine(dir = MIGRATIONS_DIR): Record<string, string> {
  const names = readMigrations(dir).map((m) => m.name);
  // A build that found none would make a worker that checks nothing: fail the build instead.
  if (names.length === 0)
    throw new MigrationFolderError(`No migrations in ${dir}: the worker would check nothing`);
  return { JOBS_MIGRATIONS: JSON.stringify(names) };
}
