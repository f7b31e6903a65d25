import type { Env } from "../env.ts";
import { isEventName, stepsOf } from "../events/catalog.ts";
import { inSlices } from "../events/chunks.ts";
import { instanceStatus, locateInstance } from "../instances/status.ts";
import { type Actor, leaves } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { loadEvents, type StoredEvent } from "../store/events.ts";
import { transitionMany } from "../store/transitions.ts";

export type CancelOutcome =
  | { kind: "cancelled"; id: string; performedSteps?: string[] }
  | { kind: "unknown"; id: string }
  | { kind: "refused"; id: string; state: StoredEvent["state"] };

/** Instances looked at (and stopped) at once: bounded, so 1,000 ids stay within a request's limits. */
const PARALLEL = 10;

/**
 * Cancels events wherever they are: not created yet, sleeping, between steps, or retrying in the
 * recovery tier. The state changes first (one guarded UPDATE for all), so the reconciler, the
 * recovery consumer, a creator and the workflow's look before a later step all see it; then
 * running instances are stopped. An instance that already performed every step, its receipt not
 * yet written, is recorded delivered instead (and refused). D1 sees three queries whatever the
 * number of ids.
 */
export async function cancelEvents(
  env: Env,
  ids: readonly string[],
  by: Extract<Actor, "producer" | "operator"> = "producer",
): Promise<CancelOutcome[]> {
  const events = await loadEvents(env.DB, ids);
  const running = [...events.values()].filter((e) => e.state === "accepted" || e.state === "started");
  const instances = new Map<string, InstanceStatus | undefined>();
  await inSlices(running, PARALLEL, async (e) => {
    instances.set(e.id, await instanceStatus(env, e.id, e.name));
  });
  const finished = running
    .filter((e) => (instances.get(e.id)?.output as { status?: string } | undefined)?.status === "delivered")
    .map((e) => e.id);
  const delivered = await transitionMany(env.DB, finished, { name: "deliver", by, changes: { dueAt: null } });
  for (const id of delivered) events.set(id, { ...(events.get(id) as StoredEvent), state: "delivered" });
  const candidates = [...events.values()].filter((e) => e.state !== "cancelled" && leaves("cancel", e.state));
  const cancelled = new Set(
    await transitionMany(
      env.DB,
      candidates.map((e) => e.id),
      { name: "cancel", by, changes: { dueAt: null }, note: { outcome: "cancelled" } },
    ),
  );
  // Not applied: the row moved on since it was read. A concurrent cancel (this one's own re-send,
  // whose first answer was lost) may have got there first: answer with the state as it is now.
  const missed = candidates.filter((e) => !cancelled.has(e.id)).map((e) => e.id);
  for (const now of (await loadEvents(env.DB, missed)).values()) events.set(now.id, now);
  const stop = running.filter((e) => cancelled.has(e.id) && instances.get(e.id) !== undefined);
  await inSlices(stop, PARALLEL, (e) => terminate(env, e));
  return ids.map((id): CancelOutcome => {
    const event = events.get(id);
    if (!event) return { kind: "unknown", id };
    if (event.state !== "cancelled" && !cancelled.has(id)) return { kind: "refused", id, state: event.state };
    // Known once it reached the recovery tier, and only while its row keeps the steps (retention
    // compacts them away: then nothing is claimed rather than every step).
    const performedSteps =
      event.failedAt === null || event.job === undefined || !isEventName(event.name)
        ? undefined
        : stepsOf(event.name).filter((s) => !event.remainingSteps.includes(s));
    return { kind: "cancelled", id, ...(performedSteps ? { performedSteps } : {}) };
  });
}

async function terminate(env: Env, event: StoredEvent) {
  try {
    const found = await locateInstance(env, event.id, event.name);
    if (typeof found === "string") return;
    if (!["complete", "errored", "terminated"].includes(found.status.status))
      await found.instance.terminate();
  } catch (error) {
    // The state alone keeps it from running further steps: the workflow looks before each.
    log.warn("cancel.terminate-failed", {
      eventId: event.id,
      error: error instanceof Error ? error.message : "unknown",
    });
  }
}
