import { CREATION } from "../topology.ts";
import { requireSchema } from "./schema.ts";

/**
 * The stack's creation budget, shared by every isolate through one row in D1: a createBatch call
 * reserves its instances here first, from the account's budget and its Workflow's, for the
 * current second. A reservation is one UPDATE (one row written), atomic in D1, so concurrent
 * isolates are never granted more than the budget between them; a second's unused budget is
 * simply lost. Returns how many of `wanted` may be created now (0: wait for the next second).
 */
export async function reserveCreations(
  db: D1Database,
  workflow: string,
  wanted: number,
  now: number,
  budget: { account: number; workflow: number } = CREATION.budgetPerSecond,
): Promise<number> {
  if (wanted <= 0) return 0;
  await requireSchema(db);
  // ?1 the second, ?2 the Workflow's key in `used`, ?3 wanted, ?4 and ?5 the budgets. What this
  // second has used so far is read from the row as it was (a new second starts from nothing). A
  // request stamped with a second the row has left (another isolate's clock, a slow round trip)
  // counts against the row's second: the count never goes back.
  const row = await db
    .prepare(
      `UPDATE creation_budget SET
         second = MAX(creation_budget.second, ?1),
         used = json_set(CASE WHEN creation_budget.second >= ?1 THEN used ELSE '{}' END,
           '$.account', g.account + g.grant, '$.' || ?2, g.workflow + g.grant),
         granted = g.grant
       FROM (SELECT account, workflow, MAX(0, MIN(?3, ?4 - account, ?5 - workflow)) AS grant
             FROM (SELECT
               CASE WHEN second >= ?1 THEN COALESCE(json_extract(used, '$.account'), 0) ELSE 0 END AS account,
               CASE WHEN second >= ?1 THEN COALESCE(json_extract(used, '$.' || ?2), 0) ELSE 0 END AS workflow
               FROM creation_budget WHERE key = 'stack')) AS g
       WHERE key = 'stack'
       RETURNING granted`,
    )
    .bind(Math.floor(now / 1000), workflow, wanted, budget.account, budget.workflow)
    .first<{ granted: number }>();
  return row?.granted ?? 0;
}
