import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { isEventName, stepsOf } from "../events/catalog.ts";
import { findInstance, type JobResult } from "../instances/status.ts";
import { delayScale } from "../settings/vars.ts";
import { ALL_STEPS, type StoredEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { RECONCILER } from "../topology.ts";
import { ABANDON_AFTER_MS } from "./give-up.ts";

/**
 * An accepted event this release cannot route, and no instance runs, is shown dead only after
 * this many claims and a day (ABANDON_AFTER_MS): a newer release beside it may yet take it.
 */
const UNROUTABLE_TRIES = 10;

/**
 * An accepted or started event this release cannot route: never retried for ever. Its instance,
 * wherever it is, decides: still running (a release that can route it created it) is left alone;
 * finished and delivered is recorded; otherwise it ends dead with the reason, replayable once a
 * release can route it. An accepted one that no instance runs yet gets UNROUTABLE_TRIES claims
 * first, so a newer release running beside this one (a gradual rollout) can take it.
 */
export async function endUnroutable(env: Env, event: StoredEvent, now: number): Promise<boolean> {
  const instance = await findInstance(env, event.id);
  if (instance === "unknown") return false;
  if (instance !== "missing") {
    if (!["complete", "errored", "terminated"].includes(instance.status)) {
      // Running (a release that can route it created it): the instance check looks again later,
      // after its delay if it has one, instead of a claim every minute.
      if (event.state === "accepted")
        await transition(env.DB, event.id, {
          name: "start",
          by: "reconciler",
          changes: {
            dueAt: Math.max(now, event.runAt ?? 0) + RECONCILER.firstCheckAfterMs * delayScale(env),
          },
          now,
        });
      return false;
    }
    if ((instance.output as JobResult | undefined)?.status === "delivered")
      return transition(env.DB, event.id, {
        name: "deliver",
        by: "reconciler",
        changes: { dueAt: null },
        note: { outcome: "delivery recorded" },
      });
  } else if (
    // No instance anywhere this release can see: a newer release (with a Workflow of its own,
    // perhaps) may still be running beside this one. Only an event a day old, and claimed often
    // enough, is given up.
    // A day after it was due, not after it was accepted: a newer release's instance may sleep.
    Math.max(event.createdAt, event.runAt ?? 0) > now - ABANDON_AFTER_MS ||
    (event.state === "accepted" && event.createAttempts < UNROUTABLE_TRIES)
  )
    return false;
  const detail = instance === "missing" ? "no instance runs it" : `its instance ended ${instance.status}`;
  const error = bounded(`${event.unroutable}; ${detail}. Replay it once a release can route it`);
  return transition(env.DB, event.id, {
    name: "giveUp",
    by: "reconciler",
    changes: {
      remainingSteps: isEventName(event.name) ? stepsOf(event.name) : ALL_STEPS,
      lastError: error,
      failed: true,
      dueAt: null,
    },
    note: { outcome: "dead", detail: error },
  });
}
