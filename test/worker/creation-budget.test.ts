import { expect, it } from "vitest";
import { createInstances } from "../../worker/src/dispatch/creation.ts";
import { reserveCreations } from "../../worker/src/store/creation-budget.ts";
import { CREATION, WORKFLOW_KINDS } from "../../worker/src/topology.ts";
import { countingWrites, resetPasswordJob, testEnv, uid } from "./helpers.ts";

/**
 * The creation budget is the stack's, not the isolate's: creators that share nothing but D1 (as
 * isolates do) are granted, between them, no more per second than the budget, per Workflow and
 * in all, and still use most of it.
 */
const CREATORS = 10;
const SECONDS = 3;

/** One creator (an isolate's worth): asks for `ask` at a time, as fast as it is granted, for a while. */
async function creator(
  workflow: (typeof WORKFLOW_KINDS)[number],
  ask: number,
  until: number,
  grants: [number, string, number][],
) {
  while (Date.now() < until) {
    const now = Date.now();
    const granted = await reserveCreations(testEnv.DB, workflow, ask, now);
    if (granted > 0) grants.push([Math.floor(now / 1000), workflow, granted]);
    else await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
  }
}

const perSecond = (grants: [number, string, number][], which?: string) => {
  const totals = new Map<number, number>();
  for (const [second, workflow, n] of grants)
    if (which === undefined || workflow === which) totals.set(second, (totals.get(second) ?? 0) + n);
  return totals;
};

it("keeps several isolates' creators under one budget, per Workflow and in all", {
  timeout: 30_000,
}, async () => {
  // Start on a fresh second, so every second counted is a whole one.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
  const until = Date.now() + SECONDS * 1000;
  const grants: [number, string, number][] = [];
  await Promise.all(
    Array.from({ length: CREATORS }, (_, i) =>
      creator(WORKFLOW_KINDS[i % WORKFLOW_KINDS.length] ?? "email", 40, until, grants),
    ),
  );
  const { account, workflow } = CREATION.budgetPerSecond;
  for (const kind of WORKFLOW_KINDS)
    for (const total of perSecond(grants, kind).values()) expect(total).toBeLessThanOrEqual(workflow);
  const all = [...perSecond(grants).values()];
  for (const total of all) expect(total).toBeLessThanOrEqual(account);
  // Ten creators asking for 40 at a time want 400 a second: the budget is what they get, most of it.
  const busiest = Math.max(...all);
  expect(busiest).toBeGreaterThanOrEqual(Math.min(account, workflow * WORKFLOW_KINDS.length) * 0.8);
});

it("counts a request stamped with a second the budget has left against the current one", async () => {
  const second = Math.floor(Date.now() / 1000) + 1_000;
  const at = (s: number) => s * 1000 + 500;
  const { workflow } = CREATION.budgetPerSecond;
  // Another isolate's clock a second behind, between two requests of the current second.
  const grants = [
    await reserveCreations(testEnv.DB, "notification", workflow, at(second + 1)),
    await reserveCreations(testEnv.DB, "notification", workflow, at(second)),
    await reserveCreations(testEnv.DB, "notification", workflow, at(second + 1)),
  ];
  expect(grants).toEqual([workflow, 0, 0]);
});

it("releases what it cannot create before its claim's margin, without asking the budget over and over", async () => {
  // This second's budget for the Workflow is spent, and the claim's margin ends before the next.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
  const now = Date.now();
  const spent = CREATION.budgetPerSecond.workflow;
  expect(await reserveCreations(testEnv.DB, "email", spent, now)).toBeGreaterThan(0);
  await reserveCreations(testEnv.DB, "email", spent, now);
  const { db, written } = countingWrites();
  const job = resetPasswordJob(uid("no_budget"));
  const report = await createInstances({ ...testEnv, DB: db }, [job], "dispatch", {
    claimedUntil: Date.now() + CREATION.claimMs / 2 + (1000 - (Date.now() % 1000)) - 5,
  });
  expect(report.released).toContain(job.id);
  expect(report.started).toEqual([]);
  // One reservation (and the release of the claim), not one per turn of a loop.
  expect(written()).toBeLessThanOrEqual(3);
});
