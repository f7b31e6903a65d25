import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { log } from "../log.ts";
import { requireSchema } from "../store/schema.ts";
import { checkInstances } from "./checks.ts";
import { createOverdue } from "./creations.ts";
import { resendOverdue } from "./resend.ts";

export interface ReconcileReport {
  created: number;
  abandoned: number;
  /** Events this release cannot route, ended dead (or recorded delivered). */
  gaveUp: number;
  pointersResent: number;
  instancesChecked: number;
  repaired: number;
}

/**
 * Repairs every state that can strand, with bounded work per run; safe to run twice at once
 * (each repair is a guarded transition or a claim, so two runs never act on one event twice):
 * - accepted events whose creation claim ended: created, paced (a 429 ends the run's creating);
 * - retrying events whose next delivery is overdue: their recovery pointer is sent again;
 * - started events past their check time: their instance says what became of them, and a
 *   finished one whose ending was never recorded (delivered, handed over, failed) is recorded.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    created: 0,
    abandoned: 0,
    gaveUp: 0,
    pointersResent: 0,
    instancesChecked: 0,
    repaired: 0,
  };
  await requireSchema(env.DB);
  await step("create", () => createOverdue(env, now, report));
  await step("resend", () => resendOverdue(env, now, report));
  await step("check", () => checkInstances(env, now, report));
  return report;
}

/** One failing part (D1 down, say) must not keep the others from running. */
async function step(name: string, work: () => Promise<void>) {
  try {
    await work();
  } catch (error) {
    log.error("reconcile.failed", { part: name, error: bounded(String(error)) });
  }
}
