import { fromClause, stateClause } from "../lifecycle/machine.ts";
import { type StoredEvent, toEvent } from "./events.ts";
import { requireSchema } from "./schema.ts";

/**
 * Creation claims on `accepted` events. The row's `due_at` is when its current claim ends; a
 * claim is taken only from a row whose claim has ended, in one UPDATE, so two reconciler runs
 * (or a run and a slow request) never create the same event at once.
 */
export async function claimOverdue(
  db: D1Database,
  now: number,
  claimMs: number,
  limit: number,
): Promise<StoredEvent[]> {
  await requireSchema(db);
  const { results } = await db
    .prepare(
      `UPDATE events SET due_at = ?2, create_attempts = create_attempts + 1, updated_at = ?1
       WHERE id IN (SELECT id FROM events WHERE ${stateClause(["accepted"])} AND due_at <= ?1 ORDER BY due_at LIMIT ?3)
         AND ${fromClause("start")} AND due_at <= ?1
       RETURNING *`,
    )
    .bind(now, now + claimMs, limit)
    .all();
  // Every claimed row, those this release cannot route included: the caller ends those.
  return results.map(toEvent);
}

/**
 * Ends this creator's claims early, so the next reconciler run takes these events at once. The
 * claim's end is the ownership token: a row another creator has claimed since is left alone.
 */
export async function releaseClaims(
  db: D1Database,
  ids: readonly string[],
  claimedUntil: number,
  now: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .prepare(
      `UPDATE events SET due_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND ${fromClause("start")} AND due_at = ?3`,
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
