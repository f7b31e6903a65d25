import type { Env } from "../env.ts";
import { stepsOf } from "../events/catalog.ts";
import type { JobParams } from "../events/job.ts";
import type { Actor } from "../lifecycle/machine.ts";
import { delayScale } from "../settings/vars.ts";
import { loadEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { RECONCILER } from "../topology.ts";
import { firstRecoveryDelay } from "./delay.ts";
import { recoveryPointer } from "./message.ts";

export type HandOver =
  | { kind: "retrying"; remainingSteps: readonly string[]; error: string; attempts: number }
  | { kind: "dead"; remainingSteps: readonly string[]; error: string; attempts: number };

/**
 * The workflow tier is done with an event it could not finish: record it as `retrying` (then
 * send a pointer to the recovery queue) or `dead`. Safe to repeat: the transition only applies
 * to a running event, and the pointer is sent whenever the event is still `retrying` — a step
 * re-run after a failed send sends it again; a duplicate pointer is harmless. If the send fails
 * for good, the row's `due_at` makes the reconciler send it.
 */
export async function handOver(
  env: Env,
  job: JobParams,
  outcome: HandOver,
  by: Extract<Actor, "workflow" | "reconciler">,
): Promise<void> {
  const now = Date.now();
  const delaySeconds = firstRecoveryDelay(env);
  const note = { outcome: outcome.kind, step: outcome.remainingSteps[0] ?? null, detail: outcome.error };
  const changes = {
    remainingSteps: outcome.remainingSteps,
    lastError: outcome.error,
    attempts: outcome.attempts,
    failed: true,
    dueAt: outcome.kind === "retrying" ? deliveryDue(env, now, delaySeconds) : null,
    // The steps performed before the one that failed each made one successful call.
    calls: { ok: Math.max(0, stepsOf(job.name).length - outcome.remainingSteps.length) },
  };
  if (outcome.kind === "dead") {
    await transition(env.DB, job.id, { name: "fail", by, changes, note, now });
    return;
  }
  const moved = await transition(env.DB, job.id, { name: "handOver", by, changes, note, now });
  // The workflow's own re-run step sends again (its first send may have failed); the reconciler
  // sends only for the hand-over it made, so a second run cannot start a second chain.
  if (!moved && (by === "reconciler" || (await loadEvent(env.DB, job.id))?.state !== "retrying")) return;
  await env.RECOVERY_QUEUE.send(recoveryPointer(job.id), { delaySeconds });
}

/** When a delivery `delaySeconds` from now is overdue: the reconciler re-sends a pointer after it. */
export function deliveryDue(env: Env, now: number, delaySeconds: number): number {
  return now + delaySeconds * 1000 + RECONCILER.deliveryGraceMs * delayScale(env);
}
