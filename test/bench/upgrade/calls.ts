import type { Call } from "../../../worker/local/backend.ts";
import { stepsOf } from "../../../worker/src/events/catalog.ts";
import type { DrillEvent } from "./groups.ts";

const key = (id: string, step: string) => `${id}:${step}`;

/** The calls the backend saw for event `id`. */
export const callsOf = (calls: readonly Call[], id: string) => calls.filter((c) => c.eventId === id);

/** Whether the backend performed `step` of event `id` under the event's own key. */
export const performed = (calls: readonly Call[], id: string, step: string) =>
  calls.some((c) => c.performed && c.idempotencyKey === key(id, step));

/** Every step of the event performed. */
export const delivered = (calls: readonly Call[], e: DrillEvent) =>
  stepsOf(e.name).every((s) => performed(calls, e.id, s));

/** A call is the event's own when it names the event and one of its steps, with `<id>:<step>` as key. */
export function ownKey(call: Call, event: DrillEvent): boolean {
  return (
    call.eventId === event.id &&
    (stepsOf(event.name) as readonly string[]).includes(call.path) &&
    call.idempotencyKey === key(event.id, call.path)
  );
}
