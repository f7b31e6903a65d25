import * as z from "zod";
import { type JobParams, JobParamsSchema } from "../events/job.ts";
import { ensureSchema } from "./schema.ts";

export const FAILED_STATUSES = ["retrying", "delivered", "dead", "discarded"] as const;
export type FailedStatus = (typeof FAILED_STATUSES)[number];
export type Tier = "workflow" | "queue" | "dead-letter" | "operator";

const RowSchema = z.object({
  id: z.string(),
  name: z.string(),
  tenant_id: z.string().nullable(),
  trace_id: z.string(),
  job: z.string(),
  remaining_steps: z.string(),
  status: z.enum(FAILED_STATUSES),
  last_error: z.string(),
  attempts: z.number(),
  replays: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
});
type Row = z.infer<typeof RowSchema>;

export interface FailedEvent {
  id: string;
  name: string;
  tenantId: string | null;
  traceId: string;
  status: FailedStatus;
  /** The step that failed first among those still to run, then the rest in order. */
  remainingSteps: string[];
  lastError: string;
  attempts: number;
  replays: number;
  createdAt: number;
  updatedAt: number;
  /** The event exactly as dispatched, or undefined for a message that could not be tied to one. */
  job: JobParams | undefined;
}

function toEvent(row: Row): FailedEvent {
  const job = JobParamsSchema.safeParse(safeJson(row.job));
  const steps = z.array(z.string()).safeParse(safeJson(row.remaining_steps));
  return {
    id: row.id,
    name: row.name,
    tenantId: row.tenant_id,
    traceId: row.trace_id,
    status: row.status,
    remainingSteps: steps.success ? steps.data : [],
    lastError: row.last_error,
    attempts: row.attempts,
    replays: row.replays,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    job: job.success ? job.data : undefined,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const attempt = (
  db: D1Database,
  id: string,
  now: number,
  tier: Tier,
  step: string | null,
  outcome: string,
  detail: string | null,
) =>
  db
    .prepare(
      "INSERT INTO failed_event_attempts (event_id, at, tier, step, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(id, now, tier, step, outcome, detail);

export interface Failure {
  job: JobParams;
  remainingSteps: readonly string[];
  status: "retrying" | "dead";
  error: string;
  attempts: number;
}

/** Records an event the workflow could not finish. Safe to repeat: a step may run twice. */
export async function recordFailure(db: D1Database, failure: Failure, now: number): Promise<void> {
  await ensureSchema(db);
  const { job } = failure;
  const tenant = typeof job.payload.tenantId === "string" ? job.payload.tenantId.trim() || null : null;
  await db.batch([
    db
      .prepare(
        `INSERT INTO failed_events
           (id, name, tenant_id, trace_id, job, remaining_steps, status, last_error, attempts, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
         ON CONFLICT (id) DO UPDATE SET remaining_steps = excluded.remaining_steps, status = excluded.status,
           last_error = excluded.last_error, attempts = excluded.attempts, updated_at = excluded.updated_at`,
      )
      .bind(
        job.id,
        job.name,
        tenant,
        job.traceId,
        JSON.stringify(job),
        JSON.stringify(failure.remainingSteps),
        failure.status,
        failure.error,
        failure.attempts,
        now,
      ),
    attempt(db, job.id, now, "workflow", failure.remainingSteps[0] ?? null, failure.status, failure.error),
  ]);
}

/**
 * Keeps a recovery message that cannot be tied to a stored event, as a dead record an operator
 * can see, instead of acknowledging it into nothing.
 */
export async function recordOrphan(db: D1Database, id: string, body: string, reason: string, now: number) {
  await ensureSchema(db);
  await db.batch([
    db
      .prepare(
        `INSERT INTO failed_events
           (id, name, tenant_id, trace_id, job, remaining_steps, status, last_error, attempts, created_at, updated_at)
         VALUES (?1, 'unknown', NULL, '', ?2, '[]', 'dead', ?3, 0, ?4, ?4)
         ON CONFLICT (id) DO NOTHING`,
      )
      .bind(id, body, reason, now),
    attempt(db, id, now, "queue", null, "orphan", reason),
  ]);
}

export async function loadFailed(db: D1Database, id: string): Promise<FailedEvent | undefined> {
  await ensureSchema(db);
  const row = await db.prepare("SELECT * FROM failed_events WHERE id = ?1").bind(id).first();
  return row ? toEvent(RowSchema.parse(row)) : undefined;
}

/** Remembers that a step succeeded, so the next attempt resumes after it. */
export async function recordProgress(
  db: D1Database,
  id: string,
  remaining: readonly string[],
  step: string,
  now: number,
) {
  await db.batch([
    db
      .prepare("UPDATE failed_events SET remaining_steps = ?2, updated_at = ?3 WHERE id = ?1")
      .bind(id, JSON.stringify(remaining), now),
    attempt(db, id, now, "queue", step, "done", null),
  ]);
}

/** Records the outcome of one recovery attempt. Only an event still retrying changes state. */
export async function settle(
  db: D1Database,
  id: string,
  status: FailedStatus,
  tier: Tier,
  step: string | null,
  error: string | null,
  now: number,
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE failed_events SET status = ?2, last_error = COALESCE(?3, last_error), attempts = attempts + 1,
           updated_at = ?4 WHERE id = ?1 AND status = 'retrying'`,
      )
      .bind(id, status, error, now),
    attempt(db, id, now, tier, step, status, error),
  ]);
}

export async function attemptsOf(db: D1Database, id: string) {
  const { results } = await db
    .prepare(
      "SELECT at, tier, step, outcome, detail FROM failed_event_attempts WHERE event_id = ?1 ORDER BY at, rowid",
    )
    .bind(id)
    .all<{ at: number; tier: Tier; step: string | null; outcome: string; detail: string | null }>();
  return results;
}

export interface Filter {
  status?: FailedStatus;
  name?: string;
  tenant?: string;
  from?: number;
  to?: number;
}

/** Newest first; `after` is the (createdAt, id) of the last row already seen. */
export async function listFailed(
  db: D1Database,
  filter: Filter,
  limit: number,
  after?: readonly [number, string],
): Promise<FailedEvent[]> {
  await ensureSchema(db);
  const { results } = await db
    .prepare(
      `SELECT * FROM failed_events
       WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR tenant_id = ?3)
         AND (?4 IS NULL OR created_at >= ?4) AND (?5 IS NULL OR created_at < ?5)
         AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7))
       ORDER BY created_at DESC, id DESC LIMIT ?8`,
    )
    .bind(
      filter.status ?? null,
      filter.name ?? null,
      filter.tenant ?? null,
      filter.from ?? null,
      filter.to ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      limit,
    )
    .all();
  return results.map((row) => toEvent(RowSchema.parse(row)));
}

/**
 * Puts dead events back in line; returns the ids that now retry. An event still retrying is
 * left alone: a second message chain beside its own would race it to the dead letter.
 */
export async function markForReplay(db: D1Database, ids: readonly string[], now: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const { results } = await db
    .prepare(
      `UPDATE failed_events SET status = 'retrying', replays = replays + 1, updated_at = ?2
       WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'dead' AND name != 'unknown'
       RETURNING id`,
    )
    .bind(JSON.stringify(ids), now)
    .all<{ id: string }>();
  const replayed = results.map((r) => r.id);
  if (replayed.length > 0) {
    await db.batch(replayed.map((id) => attempt(db, id, now, "operator", null, "replay", null)));
  }
  return replayed;
}

export async function discard(db: D1Database, id: string, now: number): Promise<boolean> {
  const [update] = await db.batch([
    db
      .prepare(
        "UPDATE failed_events SET status = 'discarded', updated_at = ?2 WHERE id = ?1 AND status != 'delivered' RETURNING id",
      )
      .bind(id, now),
    attempt(db, id, now, "operator", null, "discard", null),
  ]);
  return (update?.results.length ?? 0) > 0;
}

/** A receipt of a delayed event is kept until its delay (at most 365 days) has surely passed. */
const SCHEDULED_RECEIPT_MS = 366 * 24 * 60 * 60 * 1000;

/** Deletes what is settled and older than `before`: delivered or discarded failures and receipts. */
export async function purgeBefore(db: D1Database, before: number) {
  await ensureSchema(db);
  const settled =
    "SELECT id FROM failed_events WHERE status IN ('delivered', 'discarded') AND updated_at < ?1";
  const [attempts, failures, receipts] = await db.batch([
    db.prepare(`DELETE FROM failed_event_attempts WHERE event_id IN (${settled})`).bind(before),
    db
      .prepare("DELETE FROM failed_events WHERE status IN ('delivered', 'discarded') AND updated_at < ?1")
      .bind(before),
    db
      .prepare("DELETE FROM dispatch_receipts WHERE created_at < ?1 AND (scheduled = 0 OR created_at < ?2)")
      .bind(before, before - SCHEDULED_RECEIPT_MS),
  ]);
  return {
    attempts: attempts?.meta.changes ?? 0,
    failedEvents: failures?.meta.changes ?? 0,
    receipts: receipts?.meta.changes ?? 0,
  };
}
