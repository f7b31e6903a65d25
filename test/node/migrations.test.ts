import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import { applyMigrations, type MigratableDatabase } from "../../worker/local/migrate.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";
import { readMigrations } from "../../worker/release/migrations.ts";
import { DATABASE } from "../../worker/src/topology.ts";

const token = "migrations-token";
let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ token });
});
afterAll(() => backend.close());

const start = (options: { migrate?: boolean; persistTo?: string } = {}) =>
  startRuntime({
    authToken: token,
    operatorToken: "migrations-operator-token",
    backendUrl: backend.url,
    scheduledIntervalMs: 500,
    onLog: () => {},
    ...options,
  });
const database = async (runtime: Runtime) =>
  (await runtime.miniflare.getD1Database(DATABASE.binding)) as unknown as MigratableDatabase;
const dispatch = (runtime: Runtime, events: unknown[]) =>
  fetch(`${runtime.url}/dispatch`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ events }),
  });
const reset = (id: string) => ({
  id,
  idempotencyKey: `key-${id}`,
  event: { name: "email/reset-password", data: { email: "a@b.c", userName: "A", otpCode: "1" } },
});
const waitFor = async (check: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return check();
};
const delivered = (id: string) => backend.calls.some((c) => c.eventId === id && c.status === 200);

describe("a database without this release's migrations", () => {
  it("fails closed: /health and /dispatch answer 503 naming the migration, nothing is written, and it serves once they are applied", async () => {
    const runtime = await start({ migrate: false });
    try {
      const health = await fetch(`${runtime.url}/health`);
      expect(health.status).toBe(503);
      expect(health.headers.get("retry-after")).toBe("30");
      expect(((await health.json()) as { error: string }).error).toMatch(/0001_initial\.sql.* not applied/);

      const id = `evt_unmigrated_${Date.now()}`;
      const refused = await dispatch(runtime, [reset(id)]);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("30");
      const db = await database(runtime);
      // Not a table was created: the worker never changes the schema itself.
      const tables = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      expect(tables.results).toEqual([]);

      expect(await applyMigrations(db)).toEqual(readMigrations().map((m) => m.name));
      // The failed check is made again: no restart needed once the deploy has migrated.
      expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
      const accepted = await dispatch(runtime, [reset(id)]);
      expect(await accepted.json()).toMatchObject({ ids: [id] });
      expect(await waitFor(() => delivered(id))).toBe(true);
    } finally {
      await runtime.close();
    }
  });
});

describe("the first migration", () => {
  it("adopts a database the release before migrations created, leaving every row as it was, and its work goes on", async () => {
    const runtime = await start({ migrate: false });
    try {
      const db = await database(runtime);
      const before = await readFile(
        join(import.meta.dirname, "../fixtures/schema-before-migrations.sql"),
        "utf8",
      );
      await db.batch(
        before
          .replace(/^--.*$/gm, "")
          .split(";")
          .map((s) => s.trim())
          .filter(Boolean)
          .map((sql) => db.prepare(sql)),
      );
      // What that release left: an accepted event whose creation never happened (its claim ends
      // in 8 s, so the reconciler leaves it alone until the rows have been compared), and a
      // settled one (its delivery cleared its due time, as that release's receipts do).
      const now = Date.now();
      const pending = `evt_adopted_${now}`;
      const job = {
        id: pending,
        name: "email/reset-password",
        payload: { email: "a@b.c", userName: "A", otpCode: "1" },
        traceId: pending,
        idempotencyKey: "k",
        createdAt: new Date(now).toISOString(),
      };
      const insert = `INSERT INTO events (id, name, digest, trace_id, job, state, due_at, create_attempts, created_at, updated_at)
        VALUES (?1, 'email/reset-password', 'd', ?1, ?2, ?3, ?4, 1, ?5, ?5)`;
      await db.batch([
        db.prepare(insert).bind(pending, JSON.stringify(job), "accepted", now + 8_000, now),
        db.prepare(insert).bind(`evt_settled_${now}`, null, "delivered", null, now - 120_000),
        db.prepare("INSERT INTO backend_calls (minute, ok) VALUES (?1, 3)").bind(Math.floor(now / 60_000)),
      ]);
      const rows = async () => ({
        events: (await db.prepare("SELECT * FROM events ORDER BY id").all()).results,
        calls: (await db.prepare("SELECT * FROM backend_calls").all()).results,
      });
      const kept = await rows();

      const released = readMigrations().map((m) => m.name);
      expect(await applyMigrations(db)).toEqual(released);
      expect(await rows()).toEqual(kept);
      const bookkeeping = await db.prepare(`SELECT name FROM ${DATABASE.migrationsTable} ORDER BY id`).all();
      expect(bookkeeping.results).toEqual(released.map((name) => ({ name })));
      // Applied once: a second deploy finds nothing pending.
      expect(await applyMigrations(db)).toEqual([]);

      // The reconciler (every 500 ms here) creates the adopted event and it is delivered.
      expect(await waitFor(() => delivered(pending))).toBe(true);
    } finally {
      await runtime.close();
    }
  });
});

describe("later migrations", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "jobs-migrations-"));
    for (const m of readMigrations()) await writeFile(join(dir, m.name), m.sql);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("apply once, in order, and a failing one leaves nothing half-applied", async () => {
    const runtime = await start();
    try {
      const db = await database(runtime);
      // Expand: a column with a default, so the release before it keeps writing rows.
      await writeFile(
        join(dir, "0900_add_priority.sql"),
        "ALTER TABLE events ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;\n",
      );
      await writeFile(
        join(dir, "0901_broken.sql"),
        "CREATE INDEX events_priority ON events (priority);\nINSERT INTO no_such_table VALUES (1);\n",
      );
      await expect(applyMigrations(db, dir)).rejects.toThrow(/no_such_table/);
      const applied = await db.prepare(`SELECT name FROM ${DATABASE.migrationsTable} ORDER BY id`).all();
      expect(applied.results).toEqual(
        [...readMigrations().map((m) => m.name), "0900_add_priority.sql"].map((name) => ({ name })),
      );
      const index = await db.prepare("SELECT name FROM sqlite_master WHERE name = 'events_priority'").all();
      expect(index.results).toEqual([]);
      // A release whose code needs only 0001 goes on working on the expanded schema.
      const id = `evt_expanded_${Date.now()}`;
      expect(await (await dispatch(runtime, [reset(id)])).json()).toMatchObject({ ids: [id] });
      expect(await waitFor(() => delivered(id))).toBe(true);
    } finally {
      await runtime.close();
    }
  });
});
