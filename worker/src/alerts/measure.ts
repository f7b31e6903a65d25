import { recentCalls } from "../store/backend-calls.ts";
import { deadSince, retryingCount } from "../store/measures.ts";
import { ALERTS } from "../topology.ts";
import type { Observation } from "./conditions.ts";
import type { Check } from "./thresholds.ts";

/** Reads what one condition depends on; `cursor` is how far the dead events were counted before. */
export async function measure(
  db: D1Database,
  check: Check,
  cursor: number,
  now: number,
): Promise<Observation> {
  switch (check.condition) {
    case "dead-events": {
      const { dead, high } = await deadSince(db, cursor);
      const threshold = check.threshold.deadEvents;
      return {
        facts: { condition: check.condition, deadEvents: dead, threshold },
        firing: dead >= threshold,
        // Dead events are counted per check: a check that found none new is the clear signal.
        cleared: dead === 0,
        cursor: high,
      };
    }
    case "failure-rate": {
      const { ok, failed } = await recentCalls(db, ALERTS.windowMs, now);
      const calls = ok + failed;
      const failureRate = calls === 0 ? 0 : failed / calls;
      const { rate, minCalls } = check.threshold;
      return {
        facts: {
          condition: check.condition,
          windowMinutes: ALERTS.windowMs / 60_000,
          calls,
          failed,
          failureRate,
          threshold: rate,
          minCalls,
        },
        firing: calls >= minCalls && failureRate >= rate,
        cleared: calls < minCalls || failureRate < rate * ALERTS.resolveBelow,
        cursor,
      };
    }
    case "backlog": {
      const retrying = await retryingCount(db);
      const threshold = check.threshold.retrying;
      return {
        facts: { condition: check.condition, retrying, threshold },
        firing: retrying >= threshold,
        cleared: retrying < threshold * ALERTS.resolveBelow,
        cursor,
      };
    }
  }
}
