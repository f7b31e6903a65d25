import * as z from "zod";

/** What the alerts watch. Each has its own state, so each fires and resolves on its own. */
export const CONDITIONS = ["dead-events", "failure-rate", "backlog"] as const;
export type Condition = (typeof CONDITIONS)[number];

/** What an alert says of its condition: it started holding, or it stopped. */
export const ALERT_STATUSES = ["firing", "resolved"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

const count = z.int().nonnegative();

/** The facts a check found for one condition: what an alert reports, in its text and its fields. */
export const FactsSchema = z.discriminatedUnion("condition", [
  z.object({
    condition: z.literal("dead-events"),
    /** Events that went dead since the last check. */
    deadEvents: count,
    threshold: count,
  }),
  z.object({
    condition: z.literal("failure-rate"),
    windowMinutes: count,
    calls: count,
    failed: count,
    /** failed / calls, 0 when there were none. */
    failureRate: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    minCalls: count,
  }),
  z.object({
    condition: z.literal("backlog"),
    /** Events the recovery tier owns now. */
    retrying: count,
    threshold: count,
  }),
]);
export type Facts = z.infer<typeof FactsSchema>;

/**
 * One condition, measured: its facts, whether it holds, and `cursor`, how far the dead events
 * have been counted once this check is remembered (other conditions keep the cursor they had).
 */
export interface Observation {
  facts: Facts;
  firing: boolean;
  /**
   * Whether a firing alert may resolve: clearly below its threshold (ALERTS.resolveBelow of it),
   * so a value hovering at the threshold does not alternate between firing and resolved.
   */
  cleared: boolean;
  cursor: number;
}
