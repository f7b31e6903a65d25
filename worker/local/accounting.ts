import { type EventName, stepsOf } from "../src/events/catalog.ts";
import type { Call } from "./backend-api.ts";

export interface Accounting {
  events: number;
  /** Every backend step of the event was performed. */
  delivered: number;
  /** Recorded dead in the event store, with the reasons seen. */
  dead: number;
  deadReasons: Record<string, number>;
  /** Neither delivered nor dead: lost, or still in flight. */
  missing: string[];
  /** Delivered and also recorded dead: a false status. */
  deliveredAndDead: string[];
  /** Calls whose Idempotency-Key is not `<event id>:<step>`: the backend could not deduplicate them. */
  malformedKeys: number;
  /**
   * 2xx answers beyond the first per Idempotency-Key: what a backend that does not deduplicate
   * would have performed twice. The reference backend absorbs them; this is the count to watch.
   */
  redundantDeliveries: number;
  calls: number;
  failedCalls: number;
}

/**
 * Accounts for every dispatched event from what the backend answered and what the event store
 * says. What must never happen: an event missing, delivered and dead at once, or a call whose
 * key is not the event's own (`violations`). Redundant deliveries are reported, not failed: a
 * retry after a lost answer repeats a call by design, and the ids make it safe.
 */
export function account(
  events: readonly { id: string; name: EventName }[],
  calls: readonly Call[],
  dead: ReadonlyMap<string, string>,
): Accounting {
  const answered = new Map<string, number>();
  for (const call of calls) {
    if (call.status >= 200 && call.status < 300)
      answered.set(call.idempotencyKey, (answered.get(call.idempotencyKey) ?? 0) + 1);
  }
  const result: Accounting = {
    events: events.length,
    delivered: 0,
    dead: 0,
    deadReasons: {},
    missing: [],
    deliveredAndDead: [],
    malformedKeys: calls.filter((c) => c.idempotencyKey !== `${c.eventId}:${c.path}`).length,
    redundantDeliveries: [...answered.values()].reduce((sum, n) => sum + n - 1, 0),
    calls: calls.length,
    failedCalls: calls.filter((c) => c.status < 200 || c.status >= 300).length,
  };
  for (const event of events) {
    const delivered = stepsOf(event.name).every((step) => answered.has(`${event.id}:${step}`));
    const deadReason = dead.get(event.id);
    if (delivered && deadReason !== undefined) result.deliveredAndDead.push(event.id);
    if (delivered) result.delivered += 1;
    else if (deadReason !== undefined) {
      result.dead += 1;
      const reason = reasonOf(deadReason);
      result.deadReasons[reason] = (result.deadReasons[reason] ?? 0) + 1;
    } else result.missing.push(event.id);
  }
  return result;
}

/** What must never happen, as readable lines; empty when the run is clean. */
export function violations(result: Accounting): string[] {
  return [
    ...(result.missing.length ? [`${result.missing.length} accepted events neither delivered nor dead`] : []),
    ...(result.deliveredAndDead.length
      ? [`${result.deliveredAndDead.length} events both delivered and dead`]
      : []),
    ...(result.malformedKeys
      ? [`${result.malformedKeys} calls with a key that is not <event id>:<step>`]
      : []),
  ];
}

/** Groups error texts: "HTTP 422" rather than each body. */
function reasonOf(error: string): string {
  return /HTTP \d{3}/.exec(error)?.[0] ?? (/timed out|network error|exhausted/.exec(error)?.[0] || "other");
}
