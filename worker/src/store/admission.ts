import { type Admitted, tenantOf } from "../events/job.ts";
import { INITIAL_STATE } from "../lifecycle/machine.ts";
import { requireSchema } from "./schema.ts";

/** What recording an admitted event found, per id. */
export type Recorded =
  /** New: recorded now as `accepted`; this request starts its instance if it can. */
  | { kind: "new" }
  /** Same id, same content, recorded before: accepted already, whatever its creation's state. */
  | { kind: "duplicate"; runAt: number | null; state: string }
  | { kind: "conflict" }
  /** A retired event never accepted before: refused, with why. */
  | { kind: "retired"; message: string };

/**
 * Records every admitted event as `accepted` in one transaction (D1 runs a batch atomically):
 * after this the worker alone owns getting each instance created. A new row has no due time (so
 * no index entry to write): this request owns its creation for CREATION.claimMs from `now`, and
 * the reconciler's creation tail (claims.ts) takes over after that.
 */
export async function recordAccepted(
  db: D1Database,
  admitted: readonly Admitted[],
  now: number,
): Promise<Map<string, Recorded>> {
  if (admitted.length === 0) return new Map();
  await requireSchema(db);
  const insert = db.prepare(
    `INSERT INTO events (id, name, digest, tenant_id, trace_id, job, state, run_at, create_attempts, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, '${INITIAL_STATE}', ?7, 1, ?8, ?8)
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
  );
  const existing = db.prepare(
    "SELECT id, digest, run_at, state FROM events WHERE id IN (SELECT value FROM json_each(?1))",
  );
  // A retired event is only looked up, never inserted.
  const fresh = admitted.filter((a) => a.retired === undefined);
  const results = await db.batch<{ id: string; digest?: string; run_at?: number | null; state?: string }>([
    ...fresh.map(({ job, digest }) =>
      insert.bind(
        job.id,
        job.name,
        digest,
        tenantOf(job),
        job.traceId,
        JSON.stringify(job),
        job.runAt ?? null,
        now,
      ),
    ),
    existing.bind(JSON.stringify(admitted.map(({ job }) => job.id))),
  ]);
  const rows = new Map((results.at(-1)?.results ?? []).map((row) => [row.id, row]));
  const inserted = new Set(
    fresh.filter((_, index) => (results[index]?.results.length ?? 0) > 0).map((a) => a.job.id),
  );
  const recorded = new Map<string, Recorded>();
  admitted.forEach(({ job, digest, retired }) => {
    const row = rows.get(job.id);
    if (inserted.has(job.id)) recorded.set(job.id, { kind: "new" });
    else if (retired !== undefined && row === undefined)
      recorded.set(job.id, { kind: "retired", message: retired });
    else if (row?.digest !== digest) recorded.set(job.id, { kind: "conflict" });
    else
      recorded.set(job.id, {
        kind: "duplicate",
        runAt: row.run_at ?? null,
        state: row.state ?? "accepted",
      });
  });
  return recorded;
}
