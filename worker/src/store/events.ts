import * as z from "zod";
import { isEventName, stepsOf } from "../events/catalog.ts";
import { type JobParams, JobParamsSchema } from "../events/job.ts";
import type { State, StoredState, Tier } from "../lifecycle/machine.ts";
import { requireSchema } from "./schema.ts";

const RowSchema = z.object({
  id: z.string(),
  name: z.string(),
  digest: z.string(),
  tenant_id: z.string().nullable(),
  trace_id: z.string(),
  job: z.string().nullable(),
  // Any text: a state a newer release wrote must not make this release's reads throw.
  state: z.string(),
  run_at: z.number().nullable(),
  due_at: z.number().nullable(),
  create_attempts: z.number(),
  remaining_steps: z.string(),
  last_error: z.string(),
  attempts: z.number(),
  replays: z.number(),
  failed_at: z.number().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});

export interface StoredEvent {
  id: string;
  name: string;
  digest: string;
  tenantId: string | null;
  traceId: string;
  state: StoredState;
  runAt: number | null;
  dueAt: number | null;
  createAttempts: number;
  /** The step that failed first among those still to run, then the rest in order. */
  remainingSteps: string[];
  /** `remainingSteps` was stored as ALL_STEPS: every step of the event, named by this release. */
  allSteps: boolean;
  lastError: string;
  attempts: number;
  replays: number;
  /** When the event first left the workflow tier unfinished; null if it never did. */
  failedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /**
   * The event exactly as dispatched; undefined once compacted, for an orphan message, or when
   * this release cannot run it (then `unroutable` says why).
   */
  job: JobParams | undefined;
  /**
   * Why this release cannot run a stored event: its name left the catalog, or what was stored
   * no longer fits the schema (an event a newer release admitted, or one this release retired).
   */
  unroutable?: string;
}

/**
 * Stored in `remaining_steps` when which steps ran is unknown and this release cannot name the
 * event's steps (its name is not in the catalog): every step of the event, as the release that
 * runs it next knows them. A list whose one entry is no backend path: a release that predates it
 * reads a step it refuses to call (so never "nothing left to run", never a false delivery), and
 * a release that can route the event runs every step, with the same keys.
 */
export const ALL_STEPS: readonly string[] = ["(every step)"];
const isAllSteps = (steps: readonly string[]) => steps.length === 1 && steps[0] === ALL_STEPS[0];

export function toEvent(row: unknown): StoredEvent {
  const r = RowSchema.parse(row);
  const job = r.job === null ? undefined : JobParamsSchema.safeParse(safeJson(r.job));
  const steps = z.array(z.string()).safeParse(safeJson(r.remaining_steps));
  const allSteps = steps.success && isAllSteps(steps.data);
  const unroutable = !isEventName(r.name)
    ? `Unknown event: ${r.name} is not in this release's catalog`
    : job?.success === false
      ? `Stored event no longer valid: ${job.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; ")}`
      : undefined;
  return {
    id: r.id,
    name: r.name,
    digest: r.digest,
    tenantId: r.tenant_id,
    traceId: r.trace_id,
    state: r.state,
    runAt: r.run_at,
    dueAt: r.due_at,
    createAttempts: r.create_attempts,
    remainingSteps: !steps.success ? [] : allSteps && isEventName(r.name) ? [...stepsOf(r.name)] : steps.data,
    allSteps,
    lastError: r.last_error,
    attempts: r.attempts,
    replays: r.replays,
    failedAt: r.failed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    job: job?.success && unroutable === undefined ? job.data : undefined,
    ...(unroutable === undefined || r.job === null ? {} : { unroutable }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Several events by id (in one query), keyed by id; unknown ids are absent. */
export async function loadEvents(db: D1Database, ids: readonly string[]): Promise<Map<string, StoredEvent>> {
  if (ids.length === 0) return new Map();
  await requireSchema(db);
  const { results } = await db
    .prepare("SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(ids))
    .all();
  return new Map(results.map(toEvent).map((e) => [e.id, e]));
}

export async function loadEvent(db: D1Database, id: string): Promise<StoredEvent | undefined> {
  await requireSchema(db);
  const row = await db.prepare("SELECT * FROM events WHERE id = ?1").bind(id).first();
  return row ? toEvent(row) : undefined;
}

export async function historyOf(db: D1Database, id: string) {
  const { results } = await db
    .prepare(
      "SELECT at, tier, step, outcome, detail FROM event_history WHERE event_id = ?1 ORDER BY at, rowid",
    )
    .bind(id)
    .all<{ at: number; tier: Tier; step: string | null; outcome: string; detail: string | null }>();
  return results;
}

/** An orphan is recorded straight as dead: visible and discardable, never run (it has no event). */
const ORPHAN_STATE: State = "dead";

/**
 * Keeps a recovery message that cannot be tied to a stored event, as a dead record an operator
 * can see, instead of acknowledging it into nothing.
 */
export async function recordOrphan(db: D1Database, id: string, body: string, reason: string, now: number) {
  await requireSchema(db);
  await db.batch([
    db
      .prepare(
        `INSERT INTO events (id, name, digest, trace_id, job, state, last_error, failed_at, created_at, updated_at)
         VALUES (?1, 'unknown', '', '', ?2, '${ORPHAN_STATE}', ?3, ?4, ?4, ?4)
         ON CONFLICT (id) DO NOTHING`,
      )
      .bind(id, body, reason, now),
    db
      .prepare(
        "INSERT INTO event_history (event_id, at, tier, step, outcome, detail) VALUES (?1, ?2, 'queue', NULL, 'orphan', ?3)",
      )
      .bind(id, now, reason),
  ]);
}
