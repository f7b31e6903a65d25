import { deadClause, recoveringClause } from "../lifecycle/machine.ts";
import { recentCalls } from "../store/backend-calls.ts";
import { ALERTS } from "../topology.ts";
import type { Observation } from "./conditions.ts";
import type { Check } from "./thresholds.ts";

/** Reads what one condition depends on; `cursor` is how far the dead events were counted before. */
export async function measure(
  db: D1Database,
  check: Check,
  cursor: number,
  now: number,
): Promise<Observation> {
  switch (check.condition) {
    case "dead-events": {
      const { dead, high } = await deadSince(db, cursor);
      const threshold = check.threshold.deadEvents;
      return {
        facts: { condition: check.condition, deadEvents: dead, threshold },
        firing: dead >= threshold,
        // Dead events are counted per check: a check that found none new is the clear signal.
        cleared: dead === 0,
        cursor: high,
      };
    }
    case "failure-rate": {
      const { ok, failed } = await recentCalls(db, ALERTS.windowMs, now);
      const calls = ok + failed;
      const failureRate = calls === 0 ? 0 : failed / calls;
      const { rate, minCalls } = check.threshold;
      return {
        facts: {
          condition: check.condition,
          windowMinutes: ALERTS.windowMs / 60_000,
          calls,
          failed,
          failureRate,
          threshold: rate,
          minCalls,
        },
        firing: calls >= minCalls && failureRate >= rate,
        cleared: calls < minCalls || failureRate < rate * ALERTS.resolveBelow,
        cursor,
      };
    }
    case "backlog": {
      const row = await db
        // Every retrying row has a due time (its next delivery): counted from events_due.
        .prepare(`SELECT COUNT(*) AS n FROM events WHERE ${recoveringClause()} AND due_at IS NOT NULL`)
        .first<{ n: number }>();
      const retrying = row?.n ?? 0;
      const threshold = check.threshold.retrying;
      return {
        facts: { condition: check.condition, retrying, threshold },
        firing: retrying >= threshold,
        cleared: retrying < threshold * ALERTS.resolveBelow,
        cursor,
      };
    }
  }
}

/**
 * Events that went dead after history row `cursor`, and the newest row counted. Every way into
 * `dead` writes a history row in the same batch (an orphan record too), and rowids grow in commit
 * order, so an ending written while this runs is simply counted next time: none is missed, none
 * counted twice. An event replayed or discarded since is no longer dead and is not counted.
 */
async function deadSince(db: D1Database, cursor: number): Promise<{ dead: number; high: number }> {
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
