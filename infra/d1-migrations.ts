import * as pulumi from "@pulumi/pulumi";
import { readMigrations } from "../worker/release/migrations.ts";
import { DATABASE } from "../worker/src/topology.ts";

/**
 * Applies worker/migrations to a stack's D1 database before the new script goes live (the
 * script depends on it), the way `wrangler d1 migrations apply --remote` does: its bookkeeping
 * table, each pending file with its bookkeeping row in one query. `pulumi preview` shows each
 * pending file as an added entry of `migrations`; a released file that changed or disappeared
 * stops the preview, since databases that applied it would never apply the change.
 */

export interface MigrationInput {
  name: string;
  sha256: string;
  sql: string;
}
interface Inputs {
  accountId: string;
  databaseId: string;
  migrations: MigrationInput[];
  apiToken: string;
  /** The Cloudflare API; tests point it at a local stand-in. */
  apiBase: string;
}
interface Outputs extends Omit<Inputs, "apiToken"> {
  apiToken: string;
  /** What the database has applied, in order, with the hash each file had then. */
  applied: { name: string; sha256: string }[];
}

export const CLOUDFLARE_API = "https://api.cloudflare.com/client/v4";
const TABLE = DATABASE.migrationsTable;

/**
 * Runs in the dynamic provider's own process, serialized with its closure: it may use only
 * globals and the plain values it captures, never an imported module.
 */
async function applyPending(inputs: Inputs): Promise<{ name: string; sha256: string }[]> {
  const url = `${inputs.apiBase}/accounts/${inputs.accountId}/d1/database/${inputs.databaseId}/query`;
  const query = async (sql: string, what: string) => {
    if (!inputs.apiToken) throw new Error("CLOUDFLARE_API_TOKEN is not set: the deploy cannot migrate D1");
    const response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${inputs.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ sql }),
    });
    const body = (await response.json().catch(() => ({}))) as {
      success?: boolean;
      errors?: { code?: number; message?: string }[];
      result?: { results?: { name: string }[]; success?: boolean }[];
    };
    const failed = !response.ok || body.success === false || body.result?.some((r) => r.success === false);
    if (failed) {
      const why = (body.errors ?? []).map((e) => `${e.code ?? ""} ${e.message ?? ""}`.trim()).join("; ");
      throw new Error(`D1 ${what} failed (HTTP ${response.status}): ${why || "no error given"}`);
    }
    return (body.result ?? []).flatMap((r) => r.results ?? []);
  };
  await query(
    `CREATE TABLE IF NOT EXISTS ${TABLE}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`,
    "bookkeeping table",
  );
  const done = new Set(
    (await query(`SELECT name FROM ${TABLE} ORDER BY id`, "list of applied migrations")).map((r) => r.name),
  );
  for (const m of inputs.migrations) {
    if (done.has(m.name)) continue;
    await query(
      `${m.sql}\nINSERT INTO ${TABLE} (name) values ('${m.name.replace(/'/g, "''")}');`,
      `migration ${m.name}`,
    );
  }
  return inputs.migrations.map(({ name, sha256 }) => ({ name, sha256 }));
}

/**
 * Released migrations are immutable: refuses a plan that edits or drops one a database has. One
 * newer than every file of this release is a rollback's (the release after it added it, and
 * this one works on its schema by the expand-then-contract rule): it stays applied and known.
 */
function released(olds: Outputs, news: Inputs): void {
  const now = new Map(news.migrations.map((m) => [m.name, m.sha256]));
  const newest = news.migrations
    .map((m) => m.name)
    .sort()
    .at(-1);
  for (const { name, sha256 } of olds.applied ?? []) {
    const current = now.get(name);
    if (current === undefined && newest !== undefined && name > newest) continue;
    if (current === undefined)
      throw new Error(
        `Migration ${name} was applied to this database and is gone from worker/migrations: restore it`,
      );
    if (current !== sha256)
      throw new Error(
        `Migration ${name} was applied to this database and has since been edited: revert it and add a new migration`,
      );
  }
}

export const migrationsProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
  async diff(_id, olds, news) {
    released(olds, news);
    const applied = new Set((olds.applied ?? []).map((m) => m.name));
    const pending = news.migrations.some((m) => !applied.has(m.name));
    return {
      changes: pending || olds.databaseId !== news.databaseId || olds.accountId !== news.accountId,
      // A new database starts from nothing: migrate it from the first file.
      replaces: olds.databaseId !== news.databaseId ? ["databaseId"] : [],
      deleteBeforeReplace: true,
    };
  },
  async create(inputs) {
    const applied = await applyPending(inputs);
    return { id: inputs.databaseId, outs: { ...inputs, applied } };
  },
  async update(_id, olds, news) {
    released(olds, news);
    const applied = await applyPending(news);
    // A rollback's newer migrations stay on record, so their hashes are still checked later.
    const kept = (olds.applied ?? []).filter((m) => !applied.some((a) => a.name === m.name));
    return { outs: { ...news, applied: [...applied, ...kept].sort((a, b) => (a.name < b.name ? -1 : 1)) } };
  },
  // Never undoes a migration: dropping data is never a side effect of a deploy.
  async delete() {},
};

export interface MigrationsArgs {
  accountId: pulumi.Input<string>;
  databaseId: pulumi.Input<string>;
  apiToken: pulumi.Input<string>;
  migrations?: MigrationInput[];
  apiBase?: string;
}

export class D1Migrations extends pulumi.dynamic.Resource {
  declare readonly applied: pulumi.Output<{ name: string; sha256: string }[]>;
  constructor(name: string, args: MigrationsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      migrationsProvider,
      name,
      {
        accountId: args.accountId,
        databaseId: args.databaseId,
        apiToken: pulumi.secret(args.apiToken),
        apiBase: args.apiBase ?? CLOUDFLARE_API,
        migrations: args.migrations ?? readMigrations(),
        applied: undefined,
      },
      { ...opts, additionalSecretOutputs: ["apiToken"] },
      "d1",
      "Migrations",
    );
  }
}

/** The token the Cloudflare provider uses: `cloudflare:apiToken` config, else CLOUDFLARE_API_TOKEN. */
export function cloudflareApiToken(): pulumi.Output<string> {
  return (
    new pulumi.Config("cloudflare").getSecret("apiToken") ??
    pulumi.secret(process.env.CLOUDFLARE_API_TOKEN ?? "")
  );
}
