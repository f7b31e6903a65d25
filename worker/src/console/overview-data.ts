import type { Env } from "../env.ts";
import { isState, STATES, type State } from "../lifecycle/machine.ts";
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
}

/**
 * What the console's overview shows, from recorded state only: each event's row says where it
 * is, its history says when it was handed over or died, the call counts how the backend fared.
 */
export async function overview(env: Env, now: number): Promise<Overview> {
  await requireSchema(env.DB);
  const since = now - 24 * HOUR_MS;
  const { states, history } = await overviewRows(env.DB, since);
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>;
  const unknownStates: Record<string, number> = {};
  for (const row of states)
    if (isState(row.key)) counts[row.key] = row.n;
    else unknownStates[row.key] = row.n;
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
  return { counts, unknownStates, hours, calls: { ok, failed, windowMinutes: ALERTS.windowMs / 60_000 } };
}
