import { describe, expect, it } from "vitest";
import { producerStatus } from "../../worker/src/operations/producer-status.ts";
import type { StoredEvent } from "../../worker/src/store/events.ts";

describe("producer status", () => {
  const event = (state: StoredEvent["state"], runAt: number | null = null) =>
    ({ state, runAt, lastError: "last" }) as StoredEvent;
  const instance = (status: InstanceStatus["status"], output: unknown = null) =>
    ({ status, output }) as InstanceStatus;
  const now = 1_000;

  it("maps every lifecycle state, never complete unless delivered", () => {
    expect(producerStatus(event("delivered"), instance("complete"), now).status).toBe("complete");
    expect(producerStatus(event("dead"), instance("errored"), now)).toEqual({
      status: "dead",
      error: { name: "DeadEvent", message: "last" },
    });
    expect(producerStatus(event("retrying"), instance("complete"), now).status).toBe("waiting");
    expect(producerStatus(event("discarded"), "missing", now).status).toBe("dead");
    expect(producerStatus(event("accepted"), "missing", now).status).toBe("queued");
    expect(producerStatus(event("accepted", now + 60_000), "missing", now).status).toBe("scheduled");
    expect(producerStatus(event("started", now + 60_000), instance("waiting"), now).status).toBe("scheduled");
    expect(producerStatus(event("started"), instance("running"), now).status).toBe("running");
    // The instance finished but its ending is not recorded yet: what its output says happened.
    const finished = (output: unknown) => producerStatus(event("started"), instance("complete", output), now);
    expect(finished({ status: "delivered", steps: [] }).status).toBe("complete");
    expect(finished({ status: "cancelled", steps: [] }).status).toBe("cancelled");
    expect(finished({ status: "queued_for_retry", steps: [] }).status).toBe("waiting");
    expect(finished({ status: "hand_over_pending", steps: [] }).status).toBe("waiting");
    expect(finished({ status: "left_alone", steps: [] }).status).toBe("unknown");
    expect(finished(null).status).toBe("unknown");
    expect(producerStatus(event("accepted"), instance("errored"), now).status).toBe("errored");
    // The platform could not say: never "queued".
    expect(producerStatus(event("accepted"), "unavailable", now)).toMatchObject({
      status: "unknown",
      error: { name: "InstanceUnavailable" },
    });
  });
});
