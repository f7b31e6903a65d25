import type { Env } from "../env.ts";
import { type EventName, isEventName } from "../events/catalog.ts";
import { type JobParams, tenantOf } from "../events/job.ts";
import { log } from "../log.ts";
import { type LimitKey, limitsFor, parseBackendLimits } from "../settings/backend-limits.ts";
import { numberVar, priorityOf } from "../settings/vars.ts";
import { LIMITER, STEP_RETRY, VARS } from "../topology.ts";
import { callBackend } from "./client.ts";
import type { Outcome } from "./outcome.ts";

/** A call that did not start: it waited its turn at a limit for as long as it could. */
export interface Throttled {
  kind: "throttled";
  limit: string;
}

/** How long a call waits before saying its turn did not come when the limiter cannot be asked. */
const UNAVAILABLE_PAUSE_MS = 5_000;

/** A start heard later than this after it was let is not made: it could fall in the next second. */
const LATE_MS = 100;

/** A call's lease outlives the call by this much: a caller that died frees its place after it. */
const LEASE_MARGIN_MS = 5_000;

let parsed: { text: string; keys: (path: string, tenant: string | null) => LimitKey[] } | undefined;

/** The limits a call to `step` for this event must fit (none when the stack sets none). */
function keysFor(env: Env, job: JobParams, step: string): LimitKey[] {
  const text = env.BACKEND_LIMITS ?? VARS.BACKEND_LIMITS;
  if (parsed?.text !== text) {
    const limits = parseBackendLimits(text);
    parsed = { text, keys: (path, tenant) => limitsFor(limits, path, tenant) };
  }
  return parsed.keys(step, tenantOf(job));
}

/** Whether the stack limits its backend at all (the limiter is asked only then). */
export const hasLimits = (env: Env) => (env.BACKEND_LIMITS ?? VARS.BACKEND_LIMITS).trim() !== "{}";

/** The stack's one limiter; throws (and the caller fails closed) when the stack has none bound. */
export function limiterOf(env: Env) {
  const namespace = env[LIMITER.binding];
  if (!namespace) throw new Error(`${LIMITER.binding} is not bound: BACKEND_LIMITS needs the limiter`);
  return namespace.get(namespace.idFromName("backend"));
}

/**
 * Calls the backend once the call fits the stack's limits, waiting at most `waitMs` for its
 * turn (interactive events first, tenants in turn); answers `throttled` when its turn did not
 * come by then. A limiter that cannot be reached holds the call back too: fail closed, since
 * the limits are there because the backend (or its provider) cannot take more.
 */
export async function limitedCall(
  env: Env,
  job: JobParams,
  step: string,
  waitMs: number,
): Promise<Outcome | Throttled> {
  const keys = keysFor(env, job, step);
  if (keys.length === 0) return callBackend(env, job, step);
  const want = {
    eventId: job.id,
    priority: isEventName(job.name) ? priorityOf(env, job.name as EventName) : "bulk",
    tenant: tenantOf(job) ?? "",
    keys,
    leaseMs: numberVar(env, "backendTimeoutMs") + LEASE_MARGIN_MS,
  } as const;
  const until = Date.now() + waitMs;
  let lease: string;
  let limiter: ReturnType<typeof limiterOf>;
  try {
    limiter = limiterOf(env);
    for (;;) {
      const grant = await limiter.acquire(want, Math.max(1, until - Date.now()));
      if (!grant.granted) return { kind: "throttled", limit: grant.limit };
      // Let start, but heard late (a busy isolate): starting now could put two seconds' calls
      // into one at the backend. Give the place back and ask again, in turn.
      if (Date.now() - grant.at <= LATE_MS || Date.now() >= until) {
        lease = grant.lease;
        break;
      }
      await limiter.release(grant.lease);
    }
  } catch (error) {
    log.warn("limits.unavailable", {
      eventId: job.id,
      error: error instanceof Error ? error.message : "unknown",
    });
    // Not at once: a limiter that is down (or restarting) must not be asked again in a loop.
    await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, UNAVAILABLE_PAUSE_MS)));
    return { kind: "throttled", limit: "the limiter could not be reached" };
  }
  try {
    return await callBackend(env, job, step);
  } finally {
    await limiter.release(lease).catch(() => {});
  }
}

/** How long a workflow step may wait for its turn: what its timeout leaves after the call. */
export function stepWaitMs(env: Env): number {
  let timeoutMs = Number(VARS.BACKEND_TIMEOUT_MS);
  try {
    timeoutMs = numberVar(env, "backendTimeoutMs");
  } catch {
    // The call itself reports the bad setting.
  }
  return Math.max(1_000, Math.min(30_000, STEP_RETRY.timeoutMs - timeoutMs - 10_000));
}
