import type { Env } from "../env.ts";
import { log } from "../log.ts";
import { reserveCreations } from "../store/creation-budget.ts";
import { CREATION, type WorkflowKind } from "../topology.ts";
import { type Lane, Pacer } from "./pacer.ts";

/**
 * This isolate's own pace, under the shared budget: it halves on a 429 (the platform's budget is
 * smaller than ours: another stack in the account, say) and climbs back while creations go
 * through; alone, it is all there is while the shared budget cannot be read.
 */
const pacer = new Pacer(CREATION.perSecond);

/** How many instances one createBatch call asks for: this isolate's pace, at most. */
export const batchSize = () => pacer.rate;

export const refusedForRate = () => pacer.slowDown();
export const createdFine = () => pacer.speedUp();

/**
 * Waits until up to `wanted` creations in `workflow` may be made now: first this lane's turn
 * within this isolate's pace (interactive work first, tenants in turn), then the budget every
 * isolate of the stack shares (so many isolates together stay under the platform's limits),
 * reserved last so that nothing stands between it and the call. Answers how many (at least
 * one), or 0 when `deadline` passes first. When D1 cannot say, the isolate paces itself alone,
 * as it would without the shared budget.
 */
export async function reserve(
  env: Env,
  workflow: WorkflowKind,
  wanted: number,
  deadline: number,
  lane: Lane,
): Promise<number> {
  for (;;) {
    const paced = await pacer.take(wanted, lane, deadline);
    if (paced === 0) return 0;
    let granted: number;
    try {
      granted = await reserveCreations(env.DB, workflow, paced, Date.now());
    } catch (error) {
      log.warn("creation.budget-unavailable", { error: error instanceof Error ? error.message : "unknown" });
      granted = paced;
    }
    pacer.refund(paced - granted);
    if (granted > 0) return granted;
    // This second's budget is spent: the next one starts at the next whole second (with a
    // little spread, so waiting isolates do not all ask in the same millisecond).
    const wait = 1000 - (Date.now() % 1000) + Math.floor(Math.random() * 20);
    if (Date.now() + wait > deadline) return 0;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
