import type { InstanceReading } from "../instances/status.ts";
import type { StoredEvent } from "../store/events.ts";

/**
 * What a re-sent event's dispatch answer says: its state, and for an event still running in the
 * workflow tier what its instance says (`reading`; a delivery whose receipt was lost is complete).
 */
export function resentStatus(
  state: string,
  runAt: number | null,
  reading: InstanceReading,
  now: number,
): ProducerStatus {
  if (state === "accepted" || state === "started")
    return runningStatus(reading, runAt !== null && runAt > now).status;
  switch (state) {
    case "delivered":
      return "complete";
    case "dead":
    case "discarded":
      return "dead";
    case "cancelled":
      return "cancelled";
    case "retrying":
      return "waiting";
    default:
      // A state a newer release wrote.
      return "unknown";
  }
}

export const PRODUCER_STATUSES = [
  "queued",
  "scheduled",
  "running",
  "waiting",
  "waitingForPause",
  "paused",
  "complete",
  "errored",
  "dead",
  "cancelled",
  "terminated",
  "unknown",
] as const;
export type ProducerStatus = (typeof PRODUCER_STATUSES)[number];

export interface ProducerError {
  name: string;
  message: string;
}

/** An instance's output as the workflow writes it (`JobResult`), read loosely: it crossed releases. */
const outputStatus = (instance: InstanceStatus) => (instance.output as { status?: unknown } | null)?.status;

/**
 * What `/status` says of an event: its lifecycle state first, in the producers' vocabulary (SDK
 * 0.1.5's `WorkflowStatus`), and the instance's own status only while the event is running in
 * it. `complete` means every step was performed: an event handed to the recovery tier is
 * `waiting` (for its next attempt) until it is delivered or dead, never `complete`.
 */
export function producerStatus(
  event: StoredEvent,
  reading: InstanceReading,
  now: number,
): { status: ProducerStatus; error?: ProducerError } {
  const delayed = event.runAt !== null && event.runAt > now;
  switch (event.state) {
    case "delivered":
      return { status: "complete" };
    case "dead":
      return { status: "dead", error: { name: "DeadEvent", message: event.lastError } };
    case "cancelled":
      return { status: "cancelled" };
    case "discarded":
      // It died first; an operator then gave up on it (not its producer: cancel refuses it).
      return {
        status: "dead",
        error: { name: "Discarded", message: `Discarded by an operator after: ${event.lastError}` },
      };
    case "retrying":
      return { status: "waiting", error: { name: "RetryingEvent", message: event.lastError } };
    case "accepted":
    case "started":
      return runningStatus(reading, delayed);
    default:
      // A state a newer release wrote: this release cannot say what it means.
      return {
        status: "unknown",
        error: {
          name: "UnknownState",
          message: `The event is ${event.state}, a state this release does not know`,
        },
      };
  }
}

/** An event the workflow tier owns: what its instance says, the row not having caught up. */
function runningStatus(
  reading: InstanceReading,
  delayed: boolean,
): { status: ProducerStatus; error?: ProducerError } {
  if (reading === "unavailable")
    return {
      status: "unknown",
      error: {
        name: "InstanceUnavailable",
        message: "Its workflow instance could not be read: ask again",
      },
    };
  if (reading === "missing") return { status: delayed ? "scheduled" : "queued" };
  const instance = reading;
  switch (instance.status) {
    case "queued":
    case "running":
    case "paused":
    case "waitingForPause":
      return { status: instance.status };
    case "waiting":
      return { status: delayed ? "scheduled" : "waiting" };
    // Finished in the instance, its ending not recorded yet (the reconciler records it):
    // what the instance says is what happened.
    case "complete":
      switch (outputStatus(instance)) {
        case "delivered":
          return { status: "complete" };
        case "cancelled":
          return { status: "cancelled" };
        case "queued_for_retry":
        case "hand_over_pending":
          return { status: "waiting" };
        default:
          return { status: "unknown" };
      }
    case "errored":
    case "terminated":
      return {
        status: instance.status,
        error: { name: instance.error?.name ?? "Error", message: instance.error?.message ?? "" },
      };
    default:
      return { status: "unknown" };
  }
}
