import { finalClause } from "../lifecycle/machine.ts";
import { purgeCallsBefore } from "./backend-calls.ts";
import { holds, type WalkedRow, walk, within } from "./cursors.ts";
import { requireSchema } from "./schema.ts";

/** A delayed event's row is kept until its delay (at most 365 days) has surely passed. */
const SCHEDULED_MS = 366 * 24 * 60 * 60 * 1000;
/**
 * A compacted row (id and digest, no payload) outlives the instance state Cloudflare keeps
 * (at most 30 days): until then a re-send of the id is still recognised, not run again.
 */
const TOMBSTONE_MS = 31 * 24 * 60 * 60 * 1000;
/**
 * The walks come to a row this long after its retention would, counted from its creation: an
 * event settled within it (nearly all are) is compacted by the walk, at no cost but the read;
 * one still unsettled then is scheduled instead, when it settles (store/events.ts settledDue).
 */
const SLACK_MS = 60 * 60 * 1000;
/**
 * Rows per statement and steps per sweep. The sweep runs every minute beside the reconciler and
 * the alert check, which share D1's 1,000 queries per invocation: a walk step is 4 queries, a
 * due-sweep round 1, so a sweep makes at most about 2 × 20 × 4 + 20 = 180, while each walk passes
 * up to 20,000 rows a minute (28.8 million a day, above one database's capacity).
 */
const CHUNK = 1000;
const MAX_CHUNKS = 20;

export interface Purged {
  history: number;
  compacted: number;
  deleted: number;
  /** Minutes of backend call counts. */
  callMinutes: number;
}

/**
 * SQL of a row past its retention (settled before `?1`, its delay long gone): its payload and
 * history may go. `?2` is `?1` less SCHEDULED_MS.
 */
const EXPIRED = `${finalClause()} AND job IS NOT NULL AND updated_at < ?1 AND (run_at IS NULL OR run_at < ?2)`;
/** A compacted row past the tombstone's time (`?3`): it may go. Never the newest row (ids only grow). */
const SPENT = `${finalClause()} AND job IS NULL AND updated_at < ?3 AND rowid < (SELECT MAX(rowid) FROM events)`;
/** When a settled row should next be looked at: its compaction, or once compacted its deletion (`?4` kept ms). */
const NEXT_LOOK = `CASE WHEN job IS NOT NULL THEN MAX(updated_at, COALESCE(run_at + ${SCHEDULED_MS}, 0)) + ?4
  ELSE updated_at + ?4 + ${TOMBSTONE_MS} END`;

/**
 * Forgets what is settled and older than `keepMs`, in bounded chunks: the history and payload of
 * final events (delivered, discarded, cancelled; dead ones stay until an operator acts), then,
 * much later, the compacted rows themselves, and the backend call counts of minutes before the
 * retention. Rows are found by the two walks in the order they were written, and the few that
 * settle late by their due time. A sweep that hits its bound leaves the rest to the next one.
 */
export async function purge(db: D1Database, now: number, keepMs: number): Promise<Purged> {
  await requireSchema(db);
  const before = now - keepMs;
  const purged: Purged = { history: 0, compacted: 0, deleted: 0, callMinutes: 0 };
  // ?1 before, ?2 before less SCHEDULED_MS, ?3 before less TOMBSTONE_MS, ?4 keepMs, ?5 now: each
  // statement is given as many as it numbers (D1 refuses more).
  const values = [before, before - SCHEDULED_MS, before - TOMBSTONE_MS, keepMs, now];
  const sql = (text: string) => {
    const used = Math.max(0, ...[...text.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
    return db.prepare(text).bind(...values.slice(0, used));
  };
  // Rows that settle after the walk passed them are scheduled with the retention of this sweep.
  await db
    .prepare("UPDATE cursors SET keep_ms = ?1 WHERE name = 'retention' AND keep_ms IS NOT ?1")
    .bind(keepMs)
    .run();

  // The retention walk: compacts what expired, schedules what settled late or has not settled.
  const compactions = await walk<WalkedRow>(
    db,
    "retention",
    {
      columns: "state",
      chunk: CHUNK,
      maxRows: CHUNK * MAX_CHUNKS,
      ready: (row) => row.created_at < before - SLACK_MS,
      act: (span) => {
        const mine = `${within(span)} AND ${holds("retention", span.token)}`;
        return [
          sql(
            `DELETE FROM event_history WHERE event_id IN (SELECT id FROM events WHERE ${mine} AND ${EXPIRED})`,
          ),
          sql(
            `UPDATE events SET job = NULL, remaining_steps = '[]', last_error = '' WHERE ${mine} AND ${EXPIRED}`,
          ),
          // Settled, not expired yet (settled late, or delayed): its own due time.
          sql(
            `UPDATE events SET due_at = ${NEXT_LOOK} WHERE ${mine} AND ${finalClause()} AND job IS NOT NULL`,
          ),
        ];
      },
    },
    now,
  );
  for (const [history, compacted] of compactions) {
    purged.history += history?.meta.changes ?? 0;
    purged.compacted += compacted?.meta.changes ?? 0;
  }

  // Settled rows with a due time (scheduled above, or settled after the walk passed them).
  const due = `SELECT id FROM events WHERE ${finalClause()} AND due_at <= ?5`;
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const [history, compacted, deleted, rescheduled] = await db.batch([
      sql(`DELETE FROM event_history WHERE event_id IN (${due} AND ${EXPIRED} LIMIT ${CHUNK})`),
      sql(`UPDATE events SET job = NULL, remaining_steps = '[]', last_error = '', due_at = updated_at + ?4 + ${TOMBSTONE_MS}
           WHERE id IN (${due} AND ${EXPIRED} LIMIT ${CHUNK})`),
      sql(`DELETE FROM events WHERE id IN (${due} AND ${SPENT} LIMIT ${CHUNK})`),
      // Due, but not yet expired (the retention was raised, say): looked at again when it is.
      sql(`UPDATE events SET due_at = MAX(${NEXT_LOOK}, ?5 + 1) WHERE id IN (${due} LIMIT ${CHUNK})`),
    ]);
    purged.history += history?.meta.changes ?? 0;
    purged.compacted += compacted?.meta.changes ?? 0;
    purged.deleted += deleted?.meta.changes ?? 0;
    const acted = [compacted, deleted, rescheduled].map((r) => r?.meta.changes ?? 0);
    if (Math.max(...acted) < CHUNK) break;
  }

  // The tombstone walk: deletes compacted rows past the tombstone's time.
  const deletions = await walk<WalkedRow>(
    db,
    "tombstones",
    {
      columns: "state",
      chunk: CHUNK,
      maxRows: CHUNK * MAX_CHUNKS,
      ready: (row) => row.created_at < before - TOMBSTONE_MS - SLACK_MS,
      act: (span) => {
        const mine = `${within(span)} AND ${holds("tombstones", span.token)}`;
        return [
          sql(`DELETE FROM events WHERE ${mine} AND ${SPENT} AND due_at IS NULL`),
          // Settled but not deletable yet, with nothing scheduled (compacted late, or settled by
          // a release before the walks after the retention walk passed it): its own due time.
          sql(
            `UPDATE events SET due_at = ${NEXT_LOOK} WHERE ${mine} AND ${finalClause()} AND due_at IS NULL`,
          ),
        ];
      },
    },
    now,
  );
  for (const [deleted] of deletions) purged.deleted += deleted?.meta.changes ?? 0;
  // One row a minute at most: an hourly sweep finds about 60, so one statement does.
  purged.callMinutes = await purgeCallsBefore(db, before);
  return purged;
}
