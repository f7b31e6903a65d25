import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWrappedSecret, MIGRATIONS_TYPE, type MockRun, runUnderMocks, unwrap } from "../../infra/mocks.ts";
import { readMigrations } from "../../worker/release/migrations.ts";
import { DATABASE } from "../../worker/src/topology.ts";

const config = {
  accountId: "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
  backendUrl: "https://api.dev.acme-jobs.dev",
  workersDevSubdomain: "acme-jobs",
  authToken: "auth-dev-0f9e8d7c6b5a",
  operatorToken: "operator-dev-7a6b5c4d3e",
};

let run: MockRun;
beforeAll(async () => {
  process.env.CLOUDFLARE_API_TOKEN = "cf-token-for-the-test";
  run = await runUnderMocks("dev", config, ["authToken", "operatorToken"]);
}, 120_000);
const migrationsResource = () => run.resources.find((r) => r.type === MIGRATIONS_TYPE);

describe("the D1 migrations resource under Pulumi's mocks", () => {
  it("carries every file of worker/migrations with its hash, and the API token as a secret", () => {
    const resource = migrationsResource();
    expect(resource).toBeDefined();
    const inputs = unwrap(resource?.inputs) as {
      migrations: { name: string; sha256: string }[];
      apiToken: string;
    };
    expect(inputs.migrations.map(({ name, sha256 }) => ({ name, sha256 }))).toEqual(
      readMigrations().map(({ name, sha256 }) => ({ name, sha256 })),
    );
    expect(isWrappedSecret(resource?.inputs.apiToken)).toBe(true);
    expect(inputs.apiToken).toBe("cf-token-for-the-test");
    expect(run.outputs.migrations).toEqual(readMigrations().map((m) => m.name));
  });

  it("is declared after the database and before the script, which depends on it", () => {
    const names = run.resources.map((r) => r.name);
    const resource = migrationsResource();
    const database = run.resources.find((r) => r.name === "database");
    const script = run.resources.find((r) => r.name === "worker");
    expect(names.indexOf("migrations")).toBeGreaterThan(names.indexOf("database"));
    expect(names.indexOf("migrations")).toBeLessThan(names.indexOf("worker"));
    expect(resource?.dependsOn).toContain(database?.urn);
    expect(script?.dependsOn).toContain(resource?.urn);
  });
});

/** A stand-in for the D1 HTTP API's query endpoint, over a real SQLite database. */
function fakeD1(db: DatabaseSync, token: string) {
  const queries: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const answer = (status: number, json: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(json));
      };
      if (request.headers.authorization !== `Bearer ${token}`)
        return answer(403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
      if (!/^\/accounts\/[0-9a-f]+\/d1\/database\/[^/]+\/query$/.test(request.url ?? ""))
        return answer(404, { success: false, errors: [{ code: 7003, message: "No route" }] });
      const { sql } = JSON.parse(body) as { sql: string };
      queries.push(sql);
      try {
        if (/^\s*SELECT/i.test(sql))
          return answer(200, {
            success: true,
            errors: [],
            result: [{ results: db.prepare(sql).all(), success: true }],
          });
        // D1 runs a multi-statement query as one unit: all of it, or none.
        db.exec("BEGIN");
        try {
          db.exec(sql);
          db.exec("COMMIT");
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
        return answer(200, { success: true, errors: [], result: [{ results: [], success: true }] });
      } catch (error) {
        return answer(400, { success: false, errors: [{ code: 7500, message: (error as Error).message }] });
      }
    });
  });
  return { server, queries };
}

describe("the provider, as Pulumi serializes it and runs it in its own process", () => {
  const db = new DatabaseSync(":memory:");
  const token = "cf-token-for-the-test";
  const d1 = fakeD1(db, token);
  let apiBase: string;
  // biome-ignore lint/suspicious/noExplicitAny: the provider's inputs and outputs, as the engine passes them.
  let provider: any;
  beforeAll(async () => {
    await new Promise<void>((resolve) => d1.server.listen(0, "127.0.0.1", resolve));
    apiBase = `http://127.0.0.1:${(d1.server.address() as AddressInfo).port}`;
    // The text the engine stores as `__provider`: a module whose `handler()` returns the provider.
    const text = unwrap(migrationsResource()?.inputs.__provider) as string;
    expect(typeof text).toBe("string");
    const module = { exports: {} as { handler(): unknown } };
    new Function("exports", "require", "module", text)(
      module.exports,
      createRequire(import.meta.url),
      module,
    );
    provider = module.exports.handler();
  });
  afterAll(() => new Promise((resolve) => (d1.server as Server).close(resolve)));

  const migrations = readMigrations();
  const inputs = (list = migrations) => ({
    accountId: config.accountId,
    databaseId: "0b1c2d3e-0000-4000-8000-000000000001",
    apiToken: token,
    apiBase,
    migrations: list,
  });
  const applied = () =>
    (db.prepare(`SELECT name FROM ${DATABASE.migrationsTable} ORDER BY id`).all() as { name: string }[]).map(
      (r) => r.name,
    );

  it("applies every migration in order on a new database, recording each as wrangler does", async () => {
    const created = await provider.create(inputs());
    const released = migrations.map((m) => m.name);
    expect(created.outs.applied.map((m: { name: string }) => m.name)).toEqual(released);
    expect(applied()).toEqual(released);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    expect(tables.map((t) => (t as { name: string }).name)).toEqual(
      expect.arrayContaining([
        "events",
        "event_history",
        "backend_calls",
        "alert_state",
        DATABASE.migrationsTable,
      ]),
    );
  });

  it("sees nothing to do on a second run, and a pending file as a change", async () => {
    const olds = { ...inputs(), applied: migrations.map(({ name, sha256 }) => ({ name, sha256 })) };
    expect((await provider.diff("id", olds, inputs())).changes).toBe(false);
    const next = [
      ...migrations,
      {
        name: "0900_add_priority.sql",
        sha256: "b".repeat(64),
        sql: "ALTER TABLE events ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;",
      },
    ];
    expect((await provider.diff("id", olds, inputs(next))).changes).toBe(true);
    const before = d1.queries.length;
    const updated = await provider.update("id", olds, inputs(next));
    const all = [...migrations.map((m) => m.name), "0900_add_priority.sql"];
    expect(updated.outs.applied.map((m: { name: string }) => m.name)).toEqual(all);
    expect(applied()).toEqual(all);
    // Only the pending file ran (plus the bookkeeping table and the list).
    expect(d1.queries.slice(before).filter((q) => q.includes("ALTER TABLE"))).toHaveLength(1);
    expect(d1.queries.slice(before).some((q) => q.includes("CREATE TABLE IF NOT EXISTS events"))).toBe(false);
  });

  it("refuses an edited or a removed released migration at preview", async () => {
    const olds = { ...inputs(), applied: migrations.map(({ name, sha256 }) => ({ name, sha256 })) };
    const edited = migrations.map((m) => ({ ...m, sha256: "e".repeat(64), sql: `${m.sql}\n-- edited` }));
    await expect(provider.diff("id", olds, inputs(edited))).rejects.toThrow(
      /0001_initial.sql was applied to this database and has since been edited/,
    );
    await expect(provider.diff("id", olds, inputs([]))).rejects.toThrow(
      /0001_initial.sql was applied .* is gone/,
    );
  });

  it("lets a rollback keep the newer release's migrations applied, and remembers them", async () => {
    const newer = { name: "0999_newer.sql", sha256: "c".repeat(64) };
    const olds = {
      ...inputs(),
      applied: [...migrations.map(({ name, sha256 }) => ({ name, sha256 })), newer],
    };
    // The release before: every file but the newest. Nothing to apply, nothing refused.
    expect((await provider.diff("id", olds, inputs())).changes).toBe(false);
    const updated = await provider.update("id", olds, inputs());
    expect(updated.outs.applied.map((m: { name: string }) => m.name)).toEqual([
      ...migrations.map((m) => m.name),
      newer.name,
    ]);
    // Rolling forward again with that file edited is still refused.
    const edited = [...migrations, { ...newer, sha256: "d".repeat(64), sql: "SELECT 1;" }];
    await expect(provider.diff("id", updated.outs, inputs(edited))).rejects.toThrow(
      /0999_newer.sql was applied to this database and has since been edited/,
    );
    // A gap is not a rollback: a file older than this release's newest is gone.
    const gap = {
      ...inputs(),
      applied: [{ name: "0000_removed.sql", sha256: "f".repeat(64) }, ...olds.applied],
    };
    await expect(provider.diff("id", gap, inputs())).rejects.toThrow(
      /0000_removed.sql was applied .* is gone/,
    );
  });

  it("names the migration that failed, leaves it unrecorded and keeps what it did undone", async () => {
    const second = { name: "0900_add_priority.sql", sha256: "b".repeat(64), sql: "" };
    const olds = {
      ...inputs(),
      applied: [...migrations, second].map(({ name, sha256 }) => ({ name, sha256 })),
    };
    const broken = [
      ...migrations,
      second,
      {
        name: "0901_broken.sql",
        sha256: "c".repeat(64),
        sql: "CREATE INDEX events_priority ON events (priority);\nINSERT INTO no_such_table VALUES (1);",
      },
    ];
    await expect(provider.update("id", olds, inputs(broken))).rejects.toThrow(
      /D1 migration 0901_broken.sql failed \(HTTP 400\): 7500 .*no_such_table/,
    );
    expect(applied()).not.toContain("0901_broken.sql");
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'events_priority'").all()).toEqual([]);
  });

  it("says what is missing without a token, and never sends another's", async () => {
    await expect(provider.create({ ...inputs(), apiToken: "" })).rejects.toThrow(
      "CLOUDFLARE_API_TOKEN is not set",
    );
    await expect(provider.create({ ...inputs(), apiToken: "wrong" })).rejects.toThrow(
      /HTTP 403.*Authentication error/,
    );
  });
});
