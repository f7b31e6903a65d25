import { type EventName, stepsOf } from "../src/events/catalog.ts";
import type { Call } from "./backend-api.ts";

export interface Accounting {
  events: number;
  /** Every backend step of the event was performed. */
  delivered: number;
  /** Recorded dead in the failed-event store, with the reasons seen. */
  dead: number;
  deadReasons: Record<string, number>;
  /** Neither delivered nor dead: lost, or still in flight. */
  missing: string[];
  /** Idempotency keys performed more than once: side effects done twice. */
  duplicates: number;
  /** Calls the backend answered as repeats of work already done (harmless by design). */
  redundantCalls: number;
  calls: number;
  failedCalls: number;
}

/**
 * Accounts for every dispatched event from what the backend performed and what the failed-event
 * store says: the "nothing lost, nothing twice" check shared by tests and drills.
 */
export function account(
  events: readonly { id: string; name: EventName }[],
  calls: readonly Call[],
  dead: ReadonlyMap<string, string>,
): Accounting {
  const performed = new Map<string, number>();
  for (const call of calls) {
    if (call.performed) performed.set(call.idempotencyKey, (performed.get(call.idempotencyKey) ?? 0) + 1);
  }
  const result: Accounting = {
    events: events.length,
    delivered: 0,
    dead: 0,
    deadReasons: {},
    missing: [],
    duplicates: [...performed.values()].filter((n) => n > 1).length,
    redundantCalls: calls.filter((c) => c.status === 200 && !c.performed).length,
    calls: calls.length,
    failedCalls: calls.filter((c) => c.status !== 200).length,
  };
  for (const event of events) {
    const steps = stepsOf(event.name);
    if (steps.every((step) => performed.has(`${event.id}:${step}`))) {
      result.delivered += 1;
    } else if (dead.has(event.id)) {
      result.dead += 1;
      const reason = reasonOf(dead.get(event.id) ?? "");
      result.deadReasons[reason] = (result.deadReasons[reason] ?? 0) + 1;
    } else {
      result.missing.push(event.id);
    }
  }
  return result;
}

/** Groups error texts: "HTTP 422" rather than each body. */
function reasonOf(error: string): string {
  return /HTTP \d{3}/.exec(error)?.[0] ?? (/timed out|network error|exhausted/.exec(error)?.[0] || "other");
}
