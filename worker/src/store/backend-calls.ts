import { bounded } from "../backend/outcome.ts";
import { log } from "../log.ts";
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

/** The statement a transition appends to its batch to count the calls it records. */
export function countCallsStatement(db: D1Database, calls: CallCounts, at: number): D1PreparedStatement {
  return upsert(db, calls, at, true);
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

/** Calls counted from the minute `since` falls in until now. */
export async function callStats(db: D1Database, since: number): Promise<{ ok: number; failed: number }> {
  await requireSchema(db);
  const row = await db
    .prepare(
      "SELECT COALESCE(SUM(ok), 0) AS ok, COALESCE(SUM(failed), 0) AS failed FROM backend_calls WHERE minute >= ?1",
    )
    .bind(minuteOf(since))
    .first<{ ok: number; failed: number }>();
  return { ok: row?.ok ?? 0, failed: row?.failed ?? 0 };
}

/** Forgets the minutes before `before`; returns how many. */
export async function purgeCallsBefore(db: D1Database, before: number): Promise<number> {
  const result = await db.prepare("DELETE FROM backend_calls WHERE minute < ?1").bind(minuteOf(before)).run();
  return result.meta.changes ?? 0;
}
