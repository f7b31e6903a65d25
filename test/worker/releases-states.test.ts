import { describe, expect, it } from "vitest";
import type { JobParams } from "../../worker/src/events/job.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { recordAccepted } from "../../worker/src/store/admission.ts";
import { QUEUES } from "../../worker/src/topology.ts";
import { backend, operator, request, storeEvent, testEnv, uid } from "./helpers.ts";
import { consoleSession, consume, jobOf, row } from "./releases-setup.ts";

describe("a retired event", () => {
  it("is refused when new, and an exact re-send of one accepted before its retirement is still accepted", async () => {
    const now = Date.now();
    const before = uid("before");
    const job = jobOf(before, "email/verification") as JobParams;
    await recordAccepted(testEnv.DB, [{ job, digest: "same" }], now);
    const fresh = { job: jobOf(uid("after"), "email/verification") as JobParams, digest: "d" };
    const recorded = await recordAccepted(
      testEnv.DB,
      [
        { job, digest: "same", retired: "Unknown event: email/verification is retired" },
        { ...fresh, retired: "Unknown event: email/verification is retired" },
      ],
      now,
    );
    expect(recorded.get(before)).toMatchObject({ kind: "duplicate" });
    expect(recorded.get(fresh.job.id)).toEqual({
      kind: "retired",
      message: "Unknown event: email/verification is retired",
    });
    expect(await row(fresh.job.id)).toBeNull();
  });
});

describe("a row in a state this release does not know", () => {
  const NEWER = "paused-by-operator";

  it("is shown as it is and left alone by /status, bulk cancel, the console, the consumer and the reconciler", async () => {
    const id = uid("newer");
    const other = uid("plain");
    const now = Date.now();
    await storeEvent({
      id,
      job: jobOf(id, "email/verification"),
      state: NEWER,
      dueAt: now - 1,
      failedAt: now,
    });
    await storeEvent({
      id: other,
      job: jobOf(other, "email/verification"),
      state: "accepted",
      runAt: now + 3_600_000,
      dueAt: now + 60_000,
    });

    const status = await request(`/status/${id}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ status: "unknown", error: { name: "UnknownState" } });

    const cancel = await request("/events/cancel", {
      method: "POST",
      body: JSON.stringify({ ids: [id, other] }),
    });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({
      results: [
        { id, status: 409, error: `Not cancellable: the event is ${NEWER}` },
        expect.objectContaining({ id: other, status: "cancelled" }),
      ],
    });

    expect((await operator("/failed-events")).status).toBe(200);
    const cookie = await consoleSession();
    const page = await request(`/console/events/${id}`, { token: null, headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${NEWER} is a state this release does not know`);
    const overview = await request("/console", { token: null, headers: { cookie } });
    expect(await overview.text()).toContain(`${NEWER} (unknown state)`);
    expect(await (await operator(`/failed-events/${id}`)).json()).toMatchObject({ status: NEWER });

    const result = await consume(QUEUES.recovery.name, { eventId: id });
    // The pointer is kept for a release that knows the state, not acknowledged into nothing.
    expect(result.retryMessages).toHaveLength(1);
    await reconcile(testEnv, now + 3_600_000);
    expect((await row(id)).state).toBe(NEWER);
    expect(await backend.calls(id)).toHaveLength(0);
  });
});

describe("recovery messages across releases", () => {
  it("reads a pointer without a version, as releases before versions sent it", async () => {
    const id = uid("old");
    await storeEvent({
      id,
      job: jobOf(id, "email/verification"),
      state: "retrying",
      failedAt: Date.now(),
      remainingSteps: ["email/verification"],
    });
    const result = await consume(QUEUES.recovery.name, { eventId: id });
    expect(result.explicitAcks).toHaveLength(1);
    expect((await row(id)).state).toBe("delivered");
  });

  it("keeps a message in a newer format on the ladder, and the dead-letter tier keeps it visible", async () => {
    const body = { v: 2, event: { id: uid("v2") } };
    const result = await consume(QUEUES.recovery.name, body);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(0);
    const dead = await consume(QUEUES.deadLetter.name, body);
    expect(dead.explicitAcks).toHaveLength(1);
    const { events } = (await (await operator("/failed-events?status=dead&limit=200")).json()) as {
      events: { id: string; lastError: string }[];
    };
    expect(events.some((e) => e.lastError.includes("format version 2, newer than this release reads"))).toBe(
      true,
    );
  });
});
