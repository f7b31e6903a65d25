import type { Env } from "../env.ts";
import { deliveryDue } from "../recovery/hand-over.ts";
import { sendPointers } from "../recovery/pointers.ts";
import { interactiveEvents } from "../settings/vars.ts";
import { overdueRetries } from "../store/claims.ts";
import { transitionMany } from "../store/transitions.ts";
import { RECONCILER } from "../topology.ts";
import type { ReconcileReport } from "./run.ts";

export async function resendOverdue(env: Env, now: number, report: ReconcileReport) {
  const overdue = await overdueRetries(env.DB, now, RECONCILER.maxPointersPerRun, interactiveEvents(env));
  if (overdue.length === 0) return;
  // Claim first (moves due_at on, only where still due), so a concurrent run, or a consumer
  // that has just moved it, is not sent the same pointer again.
  const ids = await transitionMany(env.DB, overdue, {
    name: "retry",
    by: "reconciler",
    changes: { dueAt: deliveryDue(env, now, 0) },
    note: { outcome: "pointer re-sent" },
    now,
    guard: { dueBy: now },
  });
  await sendPointers(env.RECOVERY_QUEUE, ids);
  report.pointersResent += ids.length;
}
