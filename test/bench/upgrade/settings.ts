function positive(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Events per state (`UPGRADE_EVENTS`). */
export const N = positive(process.env.UPGRADE_EVENTS, 20);
/** How far ahead the sleeping and cancelled events are due when dispatched: after the switch. */
export const SLEEP_MS = positive(process.env.UPGRADE_SLEEP_MS, 20_000);
export const DRAIN_MS = positive(process.env.UPGRADE_DRAIN_MS, 120_000);
/** How long a group may take to reach its state before the first release is stopped anyway. */
export const REACH_MS = 45_000;
/** After everything settled: how long to keep watching for late calls (a cancelled event waking). */
export const QUIET_MS = 3_000;
export const SCHEDULED_INTERVAL_MS = 1000;
export const RETRY_DELAY_SCALE = 0.001;
export const REQUEST_TIMEOUT_MS = 20_000;
export const STEP_2 = "payment/process-payout";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
