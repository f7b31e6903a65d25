import { deadClause, recoveringClause, stateClause } from "../lifecycle/machine.ts";

/** What the alerts and the console's overview count, each one query. */

/** Events the recovery tier holds: every retrying row has a due time (its next delivery), so counted from events_due. */
export async function retryingCount(db: D1Database): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM events WHERE ${recoveringClause()} AND due_at IS NOT NULL`)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Events that went dead after history row `cursor`, and the newest row counted. Every way into
 * `dead` writes a history row in the same batch (an orphan record too), and rowids grow in commit
 * order, so an ending written while this runs is simply counted next time: none is missed, none
 * counted twice. An event replayed or discarded since is no longer dead and is not counted.
 */
export async function deadSince(db: D1Database, cursor: number): Promise<{ dead: number; high: number }> {
  const row = await db
    .prepare(
      `WITH top AS (SELECT COALESCE(MAX(rowid), 0) AS high FROM event_history)
       SELECT high, (SELECT COUNT(DISTINCT h.event_id) FROM event_history h JOIN events ON events.id = h.event_id
         WHERE h.rowid > ?1 AND h.rowid <= high AND events.${deadClause()}) AS dead
       FROM top`,
    )
    .bind(cursor)
    .first<{ high: number; dead: number }>();
  // `high` may be below the cursor only if the newest rows were deleted (their rowids are then
  // reused): the cursor follows it down, so the rows written next are counted.
  return { dead: row?.dead ?? 0, high: row?.high ?? cursor };
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Rows by state and event name, the tenants with the most accepted events (the workflow tier's
 * backlog; two full reads of the table, the statements the query-plan test allows to),
 * and since `since` the hand-overs and deaths per hour (`hour` counts from `since`). A hand-over is the
 * workflow's (or the reconciler's) `retrying` record; the recovery tier's own retries also read
 * `retrying` and are not hand-overs. Every way into dead records `dead`.
 */
/** How many tenants the overview's creation backlog names. */
export const TOP_TENANTS = 10;

export async function overviewRows(db: D1Database, since: number) {
  type Row = { key: string; name: string; hour: number; n: number };
  const [states, tenants, history] = await db.batch<Row>([
    db.prepare("SELECT state AS key, name, 0 AS hour, count(*) AS n FROM events GROUP BY state, name"),
    db.prepare(
      `SELECT coalesce(tenant_id, '') AS key, '' AS name, 0 AS hour, count(*) AS n FROM events
       WHERE ${stateClause(["accepted"])} GROUP BY tenant_id ORDER BY n DESC LIMIT ${TOP_TENANTS}`,
    ),
    db
      .prepare(
        `SELECT outcome AS key, CAST((at - ?1) / ${HOUR_MS} AS INTEGER) AS hour, count(*) AS n
         FROM event_history
         WHERE at >= ?1 AND (outcome = 'dead' OR (outcome = 'retrying' AND tier IN ('workflow', 'reconciler')))
         GROUP BY outcome, hour`,
      )
      .bind(since),
  ]);
  return { states: states?.results ?? [], tenants: tenants?.results ?? [], history: history?.results ?? [] };
}
