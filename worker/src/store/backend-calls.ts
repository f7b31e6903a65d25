import { bounded } from "../events/bounds.ts";
import { EVENT_NAMES, stepsOf } from "../events/catalog.ts";
import { stateClause, TRANSITIONS } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { passedBy } from "./cursors.ts";
import { requireSchema } from "./schema.ts";

/** Backend calls to add to a minute's counts. */
export interface CallCounts {
  ok: number;
  failed?: number;
}

const MINUTE_MS = 60_000;

export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS);

/**
 * Adds calls to their minute. `afterWrite` makes it part of a transition's batch: it counts only
 * if the statement before it changed a row (`changes()` is that statement's count), so a
 * transition that did not apply, or a re-run step, counts nothing.
 */
function upsert(db: D1Database, calls: CallCounts, at: number, afterWrite: boolean): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO backend_calls (minute, ok, failed) SELECT ?1, ?2, ?3 WHERE ?4 = 0 OR changes() > 0
       ON CONFLICT (minute) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed`,
    )
    .bind(minuteOf(at), calls.ok, calls.failed ?? 0, afterWrite ? 1 : 0);
}

/**
 * The statement a transition appends to its batch to count the calls it records. A delivery
 * straight from the workflow tier (`deliver`) is counted by the creation tail when it passes the
 * row; `unlessTailCounts` names the event, so the receipt counts only if the tail has already
 * passed it (then it never will): each delivery is counted once, whichever comes second.
 */
export function countCallsStatement(
  db: D1Database,
  calls: CallCounts,
  at: number,
  unlessTailCounts?: string,
): D1PreparedStatement {
  if (unlessTailCounts === undefined) return upsert(db, calls, at, true);
  return db
    .prepare(
      `INSERT INTO backend_calls (minute, ok, failed) SELECT ?1, ?2, ?3 WHERE changes() > 0
         AND EXISTS (SELECT 1 FROM events WHERE id = ?4 AND ${passedBy("creation")})
       ON CONFLICT (minute) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed`,
    )
    .bind(minuteOf(at), calls.ok, calls.failed ?? 0, unlessTailCounts);
}

/** Backend steps per event, in SQL: what a delivered event's calls were. */
const stepsSql = () => {
  const multi = EVENT_NAMES.filter((name) => stepsOf(name).length !== 1);
  if (multi.length === 0) return "1";
  return `CASE name ${multi.map((name) => `WHEN '${name}' THEN ${stepsOf(name).length}`).join(" ")} ELSE 1 END`;
};

/**
 * Counts the successful calls of the rows `where` selects that were delivered straight from the
 * workflow tier (delivered, never failed: one call per step), in the minute each was delivered.
 */
export function deliveredCallsStatement(db: D1Database, where: string): D1PreparedStatement {
  return db.prepare(
    `INSERT INTO backend_calls (minute, ok, failed)
     SELECT updated_at / ${MINUTE_MS}, SUM(${stepsSql()}), 0 FROM events
     WHERE ${where} AND ${stateClause([TRANSITIONS.deliver.to])} AND failed_at IS NULL
     GROUP BY updated_at / ${MINUTE_MS}
     ON CONFLICT (minute) DO UPDATE SET ok = ok + excluded.ok`,
  );
}

/**
 * Counts one failed call. Never throws: the count is for operators, and losing one must not
 * fail the step or the message that made the call.
 */
export async function countFailedCall(db: D1Database, at = Date.now()): Promise<void> {
  try {
    await requireSchema(db);
    await upsert(db, { ok: 0, failed: 1 }, at, false).run();
  } catch (error) {
    log.warn("backend-calls.count-failed", { error: bounded(String(error)) });
  }
}

/** Calls counted in the minutes from the one `since` falls in to the one before `until`'s. */
export async function callStats(
  db: D1Database,
  since: number,
  until: number,
): Promise<{ ok: number; failed: number }> {
  await requireSchema(db);
  const row = await db
    .prepare(
      "SELECT COALESCE(SUM(ok), 0) AS ok, COALESCE(SUM(failed), 0) AS failed FROM backend_calls WHERE minute >= ?1 AND minute < ?2",
    )
    .bind(minuteOf(since), minuteOf(until))
    .first<{ ok: number; failed: number }>();
  return { ok: row?.ok ?? 0, failed: row?.failed ?? 0 };
}

/**
 * The calls of the last `windowMs` whose counts are complete. Successful calls of an event the
 * creation tail has not passed yet are not counted yet (failures are, at once), so the window
 * ends where the tail's reach does: at the first row it has not passed (about a minute ago), or
 * now when it has passed every row. A rate over it never reads high for want of the successes.
 */
export async function recentCalls(
  db: D1Database,
  windowMs: number,
  now: number,
): Promise<{ ok: number; failed: number; until: number }> {
  await requireSchema(db);
  const next = await db
    .prepare(
      "SELECT created_at FROM events WHERE rowid > (SELECT position FROM cursors WHERE name = 'creation') ORDER BY rowid LIMIT 1",
    )
    .first<{ created_at: number }>();
  // The first unpassed row's minute is not complete; with none, this minute so far is.
  const reach = Math.min(now, next?.created_at ?? now);
  const until = next === null ? now + MINUTE_MS : reach;
  return { ...(await callStats(db, reach - windowMs, until)), until: reach };
}

/** Forgets the minutes before `before`; returns how many. */
export async function purgeCallsBefore(db: D1Database, before: number): Promise<number> {
  const result = await db.prepare("DELETE FROM backend_calls WHERE minute < ?1").bind(minuteOf(before)).run();
  return result.meta.changes ?? 0;
}
