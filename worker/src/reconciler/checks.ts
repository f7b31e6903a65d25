import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { isEventName, stepsOf } from "../events/catalog.ts";
import { findInstance, type JobResult, permanentlyFailedStep } from "../instances/status.ts";
import { log } from "../log.ts";
import { handOver } from "../recovery/hand-over.ts";
import { delayScale } from "../settings/vars.ts";
import { claimChecks, recheckAt } from "../store/claims.ts";
import { loadEvents, type StoredEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { RECONCILER } from "../topology.ts";
import { forgettable, gone } from "./give-up.ts";
import type { ReconcileReport } from "./run.ts";
import { endUnroutable } from "./unroutable.ts";

export async function checkInstances(env: Env, now: number, report: ReconcileReport) {
  // Claimed first: the check moves on, and a concurrent run does not repair the same events.
  const next = now + RECONCILER.instanceCheckAfterMs * delayScale(env);
  const ids = await claimChecks(env.DB, now, next, RECONCILER.maxInstanceChecksPerRun);
  if (ids.length === 0) return;
  for (const event of (await loadEvents(env.DB, ids)).values()) {
    report.instancesChecked += 1;
    // One event's failed repair (D1, the queue) must not cost the others their check: the claim
    // already moved every one of them on by half an hour; this one is checked again then.
    try {
      if (await repair(env, event, now)) report.repaired += 1;
    } catch (error) {
      log.warn("reconcile.repair-failed", { eventId: event.id, error: bounded(String(error)) });
    }
  }
}

/** Asks one started event's instance what became of it; records what nobody recorded. */
async function repair(env: Env, event: StoredEvent, now: number): Promise<boolean> {
  if (event.unroutable !== undefined) return endUnroutable(env, event, now);
  if (!event.job || !isEventName(event.name)) return false;
  const job = event.job;
  const found = await findInstance(env, event.id, event.name);
  if (found === "unknown") return false; // The platform could not say: the claim moved the check on.
  if (found === "missing") {
    // Never created after all (its creation's answer lost), or forgotten: only the first may be
    // created again. Past the instances' retention it may have run every step: an operator decides.
    if (!forgettable(env, event, now))
      return transition(env.DB, event.id, {
        name: "recreate",
        by: "reconciler",
        changes: { dueAt: now },
        note: { outcome: "instance missing" },
      });
    const error = gone(env);
    return transition(env.DB, event.id, {
      name: "giveUp",
      by: "reconciler",
      changes: { remainingSteps: stepsOf(event.name), lastError: error, failed: true, dueAt: null },
      note: { outcome: "dead", detail: error },
    });
  }
  const status = found;
  const output = (status.output ?? undefined) as JobResult | undefined;
  switch (status.status) {
    case "complete": {
      // The receipt the workflow could not write, with the calls it would have counted.
      if (output?.status === "delivered")
        return transition(env.DB, event.id, {
          name: "deliver",
          by: "reconciler",
          changes: { dueAt: null, calls: { ok: output.steps?.length ?? 0 } },
          note: { outcome: "delivery recorded" },
        });
      // Gave up without a record of it: finish the hand-over from what the instance says.
      const steps = stepsOf(event.name);
      const from = output?.failedStep ? Math.max(0, steps.indexOf(output.failedStep)) : 0;
      const outcome = {
        kind: "retrying",
        remainingSteps: output?.remainingSteps ?? steps.slice(from),
        error: output?.error ?? "Hand-over not recorded by the workflow",
        attempts: 0,
      } as const;
      await handOver(env, job, outcome, "reconciler");
      return true;
    }
    case "errored":
    case "terminated": {
      const error = status.error?.message ?? `Workflow instance ${status.status}`;
      // A permanent failure whose record was lost: dead, as the workflow would have recorded it,
      // never retried (the backend said no more).
      const failedStep = permanentlyFailedStep(error);
      const steps = stepsOf(event.name);
      if (status.status === "errored" && failedStep !== undefined && steps.includes(failedStep)) {
        const dead = {
          kind: "dead",
          remainingSteps: steps.slice(steps.indexOf(failedStep)),
          error: bounded(error),
          attempts: 1,
        } as const;
        await handOver(env, job, dead, "reconciler");
        return true;
      }
      // Which steps ran is unknown: run them all again; the backend deduplicates on the ids.
      const outcome = {
        kind: "retrying",
        remainingSteps: steps,
        error: bounded(error),
        attempts: 0,
      } as const;
      await handOver(env, job, outcome, "reconciler");
      return true;
    }
    default: {
      // Still running, sleeping or queued: the claim moved the check on; a delayed one waits
      // until after its delay.
      if (event.runAt !== null && event.runAt > now) {
        const next = event.runAt + RECONCILER.firstCheckAfterMs * delayScale(env);
        await recheckAt(env.DB, event.id, next);
      }
      return false;
    }
  }
}
