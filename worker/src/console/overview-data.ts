import { hasLimits, limiterOf } from "../backend/limits.ts";
import type { Env } from "../env.ts";
import { isEventName, PRIORITIES, type Priority } from "../events/catalog.ts";
import { isState, STATES, type State } from "../lifecycle/machine.ts";
import { priorityOf } from "../settings/vars.ts";
import { recentCalls } from "../store/backend-calls.ts";
import { overviewRows } from "../store/measures.ts";
import { requireSchema } from "../store/schema.ts";
import { ALERTS } from "../topology.ts";

const HOUR_MS = 60 * 60 * 1000;

export interface Overview {
  counts: Record<State, number>;
  /** Rows in states a newer release wrote, by state: shown as they are, never acted on. */
  unknownStates: Record<string, number>;
  /** Per hour over the last 24 (oldest first): events handed to the recovery tier, events gone dead. */
  hours: { start: number; handedOver: number; dead: number }[];
  /** Backend calls over the alert window. */
  calls: { ok: number; failed: number; windowMinutes: number };
  /**
   * Accepted events not yet delivered (waiting to be created, or running in their workflow): per
   * class, and the tenants with the most (most first).
   */
  backlog: { byPriority: Record<Priority, number>; tenants: { tenant: string | null; n: number }[] };
  /** Each backend limit's use over the last hour (busiest first), when the stack sets limits. */
  limits?: LimitUse[];
}

export interface LimitUse {
  limit: string;
  calls: number;
  waited: number;
  busiestMinute: number;
  peakInFlight: number;
}

/** Limits shown at most (one per tenant with perTenant): the busiest. */
const SHOWN_LIMITS = 20;

async function limitUse(env: Env): Promise<LimitUse[] | undefined> {
  if (!hasLimits(env)) return undefined;
  const usage = await limiterOf(env)
    .usage()
    .catch(() => undefined);
  if (!usage) return undefined;
  return Object.entries(usage)
    .map(([limit, minutes]) => ({
      limit,
      calls: minutes.reduce((n, m) => n + m.calls, 0),
      waited: minutes.reduce((n, m) => n + m.waited, 0),
      busiestMinute: Math.max(0, ...minutes.map((m) => m.calls)),
      peakInFlight: Math.max(0, ...minutes.map((m) => m.peakInFlight)),
    }))
    .sort((a, b) => b.calls - a.calls)
    .slice(0, SHOWN_LIMITS);
}

/**
 * What the console's overview shows, from recorded state only: each event's row says where it
 * is, its history says when it was handed over or died, the call counts how the backend fared.
 */
export async function overview(env: Env, now: number): Promise<Overview> {
  await requireSchema(env.DB);
  const since = now - 24 * HOUR_MS;
  const { states, tenants, history } = await overviewRows(env.DB, since);
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
  const unknownStates: Record<string, number> = {};
  const byPriority = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
  for (const row of states) {
    if (isState(row.key)) counts[row.key] += row.n;
    else unknownStates[row.key] = (unknownStates[row.key] ?? 0) + row.n;
    // An event this release cannot name waits with the bulk work.
    if (row.key === "accepted")
      byPriority[isEventName(row.name) ? priorityOf(env, row.name) : "bulk"] += row.n;
  }
  const hours = Array.from({ length: 24 }, (_, i) => ({
    start: since + i * HOUR_MS,
    handedOver: 0,
    dead: 0,
  }));
  for (const row of history) {
    const hour = hours[row.hour];
    if (!hour) continue;
    if (row.key === "dead") hour.dead += row.n;
    else hour.handedOver += row.n;
  }
  const { ok, failed } = await recentCalls(env.DB, ALERTS.windowMs, now);
  const limits = await limitUse(env);
  return {
    counts,
    unknownStates,
    hours,
    calls: { ok, failed, windowMinutes: ALERTS.windowMs / 60_000 },
    backlog: { byPriority, tenants: tenants.map((t) => ({ tenant: t.key === "" ? null : t.key, n: t.n })) },
    ...(limits ? { limits } : {}),
  };
}
