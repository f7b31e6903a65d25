import type { EventName } from "../../../worker/src/events/catalog.ts";

export const GROUPS = [
  "accepted",
  "sleeping",
  "between-steps",
  "retrying",
  "dead-replayed",
  "dead-kept",
  "cancelled",
] as const;
export type Group = (typeof GROUPS)[number];
export const WHAT: Record<Group, string> = {
  accepted: "(a) accepted, not created (createBatch failing)",
  sleeping: "(b) sleeping until after the switch",
  "between-steps": "(c) payout between steps (step 2 mid-retry or in flight)",
  retrying: "(d) on the recovery ladder",
  "dead-replayed": "(e) dead, replayed by the second release",
  "dead-kept": "(e') dead, not replayed",
  cancelled: "(f) delayed, cancelled",
};
export const NAMES: Record<Group, EventName> = {
  accepted: "email/reset-password",
  sleeping: "email/cart-recovery",
  "between-steps": "payment/process-payout",
  retrying: "whatsapp/send-template",
  "dead-replayed": "notification/create",
  "dead-kept": "email/verification",
  cancelled: "email/trial-reminder",
};
export const EXPECTED: Record<Group, "delivered" | "dead" | "cancelled"> = {
  accepted: "delivered",
  sleeping: "delivered",
  "between-steps": "delivered",
  retrying: "delivered",
  "dead-replayed": "delivered",
  "dead-kept": "dead",
  cancelled: "cancelled",
};

export interface DrillEvent {
  id: string;
  name: EventName;
  group: Group;
  /** Odd ones are sent as the legacy SDK sends them (`delayMs`), even ones as envelopes (`scheduledAt`). */
  legacy: boolean;
  /** The earliest moment its first call may happen, for delayed events. */
  runAt?: number;
  dispatched: boolean;
  dispatchError?: string;
  /** When the worker's answer to its cancel arrived. */
  cancelAckedAt?: number;
  /** What was observed of it just before the first release stopped. */
  atSwitch?: string;
  reached?: boolean;
  finalStatus?: string;
}

/** `n` events of each group, their ids starting with `prefix`. */
export function eventsOf(prefix: string, n: number): DrillEvent[] {
  return GROUPS.flatMap((group) =>
    Array.from({ length: n }, (_, i) => ({
      id: `${prefix}_${group.replace("-", "_")}_${i}`,
      name: NAMES[group],
      group,
      legacy: i % 2 === 1,
      dispatched: false,
    })),
  );
}

/** The first event of `events` not accepted at dispatch, and why. */
export function firstRefused(events: DrillEvent[]): string {
  const failed = events.filter((e) => !e.dispatched);
  return `${failed[0]?.id}: ${failed[0]?.dispatchError ?? "?"}${failed.length > 1 ? ", ..." : ""}`;
}
