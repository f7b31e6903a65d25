import { finalClause } from "../lifecycle/machine.ts";
import { purgeCallsBefore } from "./backend-calls.ts";
import { requireSchema } from "./schema.ts";

/** A delayed event's row is kept until its delay (at most 365 days) has surely passed. */
const SCHEDULED_MS = 366 * 24 * 60 * 60 * 1000;
/**
 * A compacted row (id and digest, no payload) outlives the instance state Cloudflare keeps
 * (at most 30 days): until then a re-send of the id is still recognised, not run again.
 */
const TOMBSTONE_MS = 31 * 24 * 60 * 60 * 1000;
/**
 * Rows per statement and statements per sweep: each statement stays far below D1's 30 s query
 * limit, and a sweep's at most 2 × 300 calls stay well under D1's 1,000 queries per invocation
 * (the reconciler shares it) while compacting up to 150,000 events an hour.
 */
const CHUNK = 500;
const MAX_CHUNKS = 300;

export interface Purged {
  history: number;
  compacted: number;
  deleted: number;
  /** Minutes of backend call counts. */
  callMinutes: number;
}

/**
 * Forgets what is settled and older than `before`, in bounded chunks: the history and payload of
 * final events (delivered, discarded, cancelled; dead ones stay until an operator acts), then, much later, the
 * compacted rows themselves, and the backend call counts of minutes before `before`. A sweep
 * that hits its bound leaves the rest to the next one.
 */
export async function purgeBefore(db: D1Database, before: number): Promise<Purged> {
  await requireSchema(db);
  const purged: Purged = { history: 0, compacted: 0, deleted: 0, callMinutes: 0 };
  const expired = `SELECT id FROM events WHERE ${finalClause()} AND job IS NOT NULL
      AND updated_at < ?1 AND (run_at IS NULL OR run_at < ?2) LIMIT ${CHUNK}`;
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const [history, compacted] = await db.batch([
      db
        .prepare(`DELETE FROM event_history WHERE event_id IN (${expired})`)
        .bind(before, before - SCHEDULED_MS),
      db
        // The error text goes with the payload: it may echo a secret that can no longer be masked.
        .prepare(
          `UPDATE events SET job = NULL, remaining_steps = '[]', last_error = '' WHERE id IN (${expired})`,
        )
        .bind(before, before - SCHEDULED_MS),
    ]);
    purged.history += history?.meta.changes ?? 0;
    purged.compacted += compacted?.meta.changes ?? 0;
    if ((compacted?.meta.changes ?? 0) < CHUNK) break;
  }
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const deleted = await db
      .prepare(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE job IS NULL
           AND ${finalClause()} AND updated_at < ?1 LIMIT ${CHUNK})`,
      )
      .bind(before - TOMBSTONE_MS)
      .run();
    purged.deleted += deleted.meta.changes ?? 0;
    if ((deleted.meta.changes ?? 0) < CHUNK) break;
  }
  // One row a minute at most: an hourly sweep finds about 60, so one statement does.
  purged.callMinutes = await purgeCallsBefore(db, before);
  return purged;
}
