import { hasLimits, limiterOf } from "../backend/limits.ts";
import type { Env } from "../env.ts";
import { isEventName, type Priority } from "../events/catalog.ts";
import { INSTANCE_ID } from "../events/job.ts";
import { type InstanceReading, locateInstance } from "../instances/status.ts";
import { priorityOf } from "../settings/vars.ts";
import { loadEvent } from "../store/events.ts";
import { producerStatus } from "./producer-status.ts";
import type { StatusResponse } from "./shapes.ts";

/**
 * An event as producers see it (`GET /status/:id`, and the console's look-up): its lifecycle
 * state in SDK 0.1.5's words, undefined when there is no such event.
 */
export async function eventStatus(env: Env, id: string): Promise<StatusResponse | undefined> {
  if (!INSTANCE_ID.test(id)) return undefined;
  const event = await loadEvent(env.DB, id);
  if (event === undefined) return undefined;
  // The instance's status counts only while the event runs in it (its ending is the event's
  // state); its output, the steps' answers, is reported whenever there is one. An event this
  // release cannot route is still the producer's event: reported from its row.
  const found = await locateInstance(env, id, event.name);
  const reading: InstanceReading =
    found === "missing" ? "missing" : found === "unknown" ? "unavailable" : found.status;
  const instance = typeof found === "string" ? undefined : found.status;
  const { status, error: stateError } = producerStatus(event, reading, Date.now());
  const inWorkflow = event.state === "accepted" || event.state === "started";
  const error =
    inWorkflow && event.unroutable !== undefined
      ? { name: "UnroutableEvent", message: event.unroutable }
      : stateError;
  const output = instance?.output ?? undefined;
  const recovery = event.failedAt !== null && {
    status: event.state,
    failedStep: event.remainingSteps[0] ?? null,
    lastError: event.lastError,
    attempts: event.attempts,
  };
  const queued =
    event.state === "accepted" &&
    reading === "missing" &&
    event.unroutable === undefined &&
    isEventName(event.name) &&
    !(event.runAt !== null && event.runAt > Date.now());
  const priority = isEventName(event.name) ? priorityOf(env, event.name) : undefined;
  const waiting =
    priority === undefined
      ? undefined
      : queued
        ? queuedBehind(priority)
        : await throttledBy(env, event.id, event.state, priority);
  return {
    id,
    name: event.name,
    status,
    traceId: event.traceId,
    ...(event.job ? { idempotencyKey: event.job.idempotencyKey } : {}),
    ...(event.runAt === null ? {} : { scheduledAt: new Date(event.runAt).toISOString() }),
    createdAt: new Date(event.createdAt).toISOString(),
    updatedAt: new Date(event.updatedAt).toISOString(),
    ...(output === undefined ? {} : { output }),
    ...(error ? { error } : {}),
    ...(recovery ? { recovery } : {}),
    ...(waiting ? { waiting } : {}),
  };
}

/** What a queued event waits behind: its class decides, then its tenant's turn. */
function queuedBehind(priority: Priority) {
  const detail =
    priority === "interactive"
      ? "Waiting to be created: only other interactive work goes first, tenants in turn"
      : "Waiting to be created: interactive work goes first, then tenants take turns";
  return { reason: "queued" as const, priority, detail };
}

/** What a running or retrying event waits for at a backend limit, if it waits for one now. */
async function throttledBy(env: Env, id: string, state: string, priority: Priority) {
  if (!(["accepted", "started", "retrying"] as const).some((s) => s === state) || !hasLimits(env))
    return undefined;
  const limit = await limiterOf(env)
    .waitingOn(id)
    .catch(() => null);
  if (limit === null) return undefined;
  const detail = `Waiting for its turn at a backend limit (${limit}); waiting is not a failed attempt`;
  return { reason: "throttled" as const, priority, limit, detail };
}
