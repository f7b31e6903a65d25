import { expect, it } from "vitest";
import { checkAlerts } from "../../worker/src/alerts/check.ts";
import { overview } from "../../worker/src/console/overview-data.ts";
import { dispatch } from "../../worker/src/dispatch/dispatch.ts";
import type { Env } from "../../worker/src/env.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { recentCalls } from "../../worker/src/store/backend-calls.ts";
import { cancelledAmong, claimCreations } from "../../worker/src/store/claims.ts";
import { loadEvent, loadEvents } from "../../worker/src/store/events.ts";
import { listFailed } from "../../worker/src/store/failures.ts";
import { purge } from "../../worker/src/store/retention.ts";
import { envelope, resetPassword, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * Every statement the hot paths prepare, recorded as the real code runs them, then planned by
 * SQLite: none walks the whole of `events` (a rowid range, an index or the primary key serves
 * each), and the ones that find work use the index named for them in the migration.
 */
function recording(): { env: Env; statements: Set<string> } {
  const statements = new Set<string>();
  const db = new Proxy(testEnv.DB, {
    get(target, key) {
      if (key === "prepare")
        return (sql: string) => {
          statements.add(sql);
          return target.prepare(sql);
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...testEnv, DB: db }, statements };
}

async function planOf(sql: string): Promise<string[]> {
  const params = Math.max(0, ...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
  const { results } = await testEnv.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...Array.from({ length: params }, () => 0))
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

/**
 * Reads that count every event and are no hot path: the console's overview, on an operator's
 * page load. A count of every row reads every row, with an index or without one (an index only
 * made it read narrower rows, at a row written on every insert and state change).
 */
const OFF_THE_HOT_PATH = new Set([
  "SELECT state AS key, name, 0 AS hour, count(*) AS n FROM events GROUP BY state, name",
  "SELECT coalesce(tenant_id, '') AS key, '' AS name, 0 AS hour, count(*) AS n FROM events\n       WHERE state IN ('accepted') GROUP BY tenant_id ORDER BY n DESC LIMIT 10",
]);

/** A walk over the whole of `events`, with or without an index ("SEARCH" is a bounded look). */
const FULL_SCAN = /^SCAN events\b/;

it("plans no full scan of events on a hot path, and each work query on its index", async () => {
  // Something in every state the queries look for, so nothing is skipped for want of rows.
  const now = Date.now();
  const job = (id: string) => ({ id, name: "email/verification" });
  for (const state of ["accepted", "started", "retrying", "delivered", "dead", "cancelled"]) {
    const id = uid(`plan_${state}`);
    await storeEvent({
      id,
      job: job(id),
      state,
      dueAt: now - 1,
      failedAt: state === "dead" ? now : undefined,
    });
  }
  const event = envelope("email/reset-password", resetPassword);
  const { env, statements } = recording();
  const background: Promise<unknown>[] = [];
  await dispatch(env, [event], now, (work) => background.push(work));
  await Promise.all(background);
  await loadEvent(env.DB, event.id);
  await loadEvents(env.DB, [event.id]);
  await cancelledAmong(env.DB, [event.id]);
  await reconcile(env, now);
  await claimCreations(env.DB, now + 120_000, 60_000, { tail: 10, overdue: 10 });
  await purge(env.DB, now, 7 * 86_400_000);
  await listFailed(env.DB, { status: "dead" }, 10);
  await recentCalls(env.DB, 15 * 60_000, now);
  await checkAlerts(env, now);
  await overview(env, now);

  const plans = new Map<string, string[]>();
  for (const sql of statements) if (/\bevents\b/.test(sql)) plans.set(sql, await planOf(sql));
  expect(plans.size).toBeGreaterThan(15);
  const scanning = [...plans].filter(
    ([sql, plan]) => !OFF_THE_HOT_PATH.has(sql) && plan.some((step) => FULL_SCAN.test(step)),
  );
  expect(scanning.map(([sql, plan]) => `${sql}\n  ${plan.join("\n  ")}`)).toEqual([]);
  // The work queries on the index that serves them.
  const uses = (fragment: RegExp, index: RegExp) => {
    const matching = [...plans].filter(([sql]) => fragment.test(sql));
    expect(matching.length, `no statement matches ${fragment}`).toBeGreaterThan(0);
    for (const [sql, plan] of matching) expect(plan.join("\n"), sql).toMatch(index);
  };
  uses(/state IN \('accepted'\) AND due_at <= \?1 ORDER BY due_at/, /USING INDEX events_due/);
  uses(/state IN \('started'\) AND due_at <= \?1 ORDER BY due_at/, /USING INDEX events_due/);
  // Interactive events are claimed and re-sent first, on the same index.
  uses(/state IN \('accepted'\) AND due_at <= \?1 AND name IN .* ORDER BY due_at/, /USING INDEX events_due/);
  uses(/state IN \('retrying'\) AND due_at <= \?1 AND name IN .* ORDER BY due_at/, /USING INDEX events_due/);
  uses(/state IN \('retrying'\) AND due_at <= \?1 ORDER BY due_at/, /USING INDEX events_due/);
  uses(/WHERE failed_at IS NOT NULL/, /USING (COVERING )?INDEX events_failed/);
  uses(/FROM events WHERE rowid > \?1 ORDER BY rowid/, /USING INTEGER PRIMARY KEY \(rowid>\?\)/);
  uses(/WHERE id = \?1/, /USING INDEX sqlite_autoindex_events_1 \(id=\?\)/);
});
