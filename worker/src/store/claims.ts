import { fromClause, stateClause } from "../lifecycle/machine.ts";
import { deliveredCallsStatement } from "./backend-calls.ts";
import { holds, type WalkedRow, walk, within } from "./cursors.ts";
import { type StoredEvent, toEvent } from "./events.ts";
import { requireSchema } from "./schema.ts";

/** Rows the creation tail reads at a time. */
const TAIL_CHUNK = 500;

/**
 * The creation tail: a new row has no due time (no index entry, no write for one): the request
 * that recorded it owns its creation until `claimMs` after it was written. Rows whose claim has
 * ended are passed here once, in the order they were written: one still `accepted` gets a claim
 * like any other (and is returned, to be created), one already delivered by its workflow has its
 * successful calls counted (its receipt did not spend a write on them). Up to `limit` rows.
 */
async function claimUnclaimed(db: D1Database, now: number, claimMs: number, limit: number) {
  const steps = await walk<WalkedRow>(
    db,
    "creation",
    {
      columns: "state",
      chunk: TAIL_CHUNK,
      maxRows: limit,
      ready: (row) => row.created_at <= now - claimMs,
      act: (span) => [
        deliveredCallsStatement(db, `${within(span)} AND ${holds("creation", span.token)}`),
        db
          .prepare(
            `UPDATE events SET due_at = ?1, create_attempts = create_attempts + 1, updated_at = ?2
             WHERE ${within(span)} AND ${fromClause("start")} AND due_at IS NULL AND ${holds("creation", span.token)}
             RETURNING *`,
          )
          .bind(now + claimMs, now),
      ],
    },
    now,
  );
  return steps.flatMap((results) => (results[1]?.results ?? []).map(toEvent));
}

/**
 * Claims `accepted` events for creation: those the creation tail passes (up to `limits.tail`
 * rows), then those whose claim ended again (up to `limits.overdue` in all), the `interactive`
 * events among them first. Every row this returns is claimed for `claimMs`, those this release
 * cannot route included: the caller ends those.
 */
export async function claimCreations(
  db: D1Database,
  now: number,
  claimMs: number,
  limits: { tail: number; overdue: number },
  interactive: readonly string[] = [],
): Promise<StoredEvent[]> {
  await requireSchema(db);
  const passed = await claimUnclaimed(db, now, claimMs, limits.tail);
  const room = Math.max(0, limits.overdue - passed.length);
  const first = await claimOverdue(db, now, claimMs, room, interactive);
  return [...passed, ...first, ...(await claimOverdue(db, now, claimMs, room - first.length))];
}

/**
 * Creation claims on `accepted` events with a due time. The row's `due_at` is when its current
 * claim ends; a claim is taken only from a row whose claim has ended, in one UPDATE, so two
 * reconciler runs (or a run and a slow request) never create the same event at once.
 */
async function claimOverdue(
  db: D1Database,
  now: number,
  claimMs: number,
  limit: number,
  /** Only these events (the interactive ones, claimed before the rest); all when absent. */
  names?: readonly string[],
) {
  if (limit === 0 || names?.length === 0) return [];
  const only = names ? " AND name IN (SELECT value FROM json_each(?4))" : "";
  const { results } = await db
    .prepare(
      `UPDATE events SET due_at = ?2, create_attempts = create_attempts + 1, updated_at = ?1
       WHERE id IN (SELECT id FROM events WHERE ${stateClause(["accepted"])} AND due_at <= ?1${only} ORDER BY due_at LIMIT ?3)
         AND ${fromClause("start")} AND due_at <= ?1
       RETURNING *`,
    )
    .bind(now, now + claimMs, limit, ...(names ? [JSON.stringify(names)] : []))
    .all();
  // Every claimed row, those this release cannot route included: the caller ends those.
  return results.map(toEvent);
}

/**
 * Ends this creator's claims early, so the next reconciler run takes these events at once. The
 * claim's end is the ownership token: a row another creator has claimed since is left alone. A
 * dispatch request's claim is the row's having no due time yet (`claimedUntil` null).
 */
export async function releaseClaims(
  db: D1Database,
  ids: readonly string[],
  claimedUntil: number | null,
  now: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .prepare(
      `UPDATE events SET due_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND ${fromClause("start")} AND due_at IS ?3`,
    )
    .bind(JSON.stringify(ids), now, claimedUntil)
    .run();
}

/**
 * Claims started events whose check is due (moving the check on), so two reconciler runs never
 * check and repair the same event at once; returns the ids this run owns.
 */
export async function claimChecks(
  db: D1Database,
  now: number,
  next: number,
  limit: number,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `UPDATE events SET due_at = ?2
       WHERE id IN (SELECT id FROM events WHERE ${stateClause(["started"])} AND due_at <= ?1 ORDER BY due_at LIMIT ?3)
         AND ${fromClause("recreate")} AND due_at <= ?1
       RETURNING id`,
    )
    .bind(now, next, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Which of these events were cancelled meanwhile: a creator skips them. */
export async function cancelledAmong(db: D1Database, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await db
    .prepare(
      `SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?1)) AND ${stateClause(["cancelled"])}`,
    )
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

/** Moves a started event's next check to `next` (a delayed one is checked after its delay). */
export async function recheckAt(db: D1Database, id: string, next: number): Promise<void> {
  await db
    .prepare(`UPDATE events SET due_at = ?2 WHERE id = ?1 AND ${fromClause("recreate")}`)
    .bind(id, next)
    .run();
}

/**
 * Retrying events whose next delivery is overdue (their pointer was lost): the `interactive`
 * events first, then the rest, most overdue first within each.
 */
export async function overdueRetries(
  db: D1Database,
  now: number,
  limit: number,
  interactive: readonly string[] = [],
): Promise<string[]> {
  const overdue = async (room: number, names?: readonly string[]) => {
    if (room === 0 || names?.length === 0) return [];
    const only = names ? " AND name IN (SELECT value FROM json_each(?3))" : "";
    const { results } = await db
      .prepare(
        `SELECT id FROM events WHERE ${stateClause(["retrying"])} AND due_at <= ?1${only} ORDER BY due_at LIMIT ?2`,
      )
      .bind(now, room, ...(names ? [JSON.stringify(names)] : []))
      .all<{ id: string }>();
    return results.map((r) => r.id);
  };
  const first = await overdue(limit, interactive);
  const seen = new Set(first);
  const rest = (await overdue(limit)).filter((id) => !seen.has(id));
  return [...first, ...rest].slice(0, limit);
}
