import { describe, expect, it } from "vitest";
import { createInstances } from "../../worker/src/dispatch/creation.ts";
import { lookUp } from "../../worker/src/instances/status.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import {
  backend,
  dispatch,
  envelope,
  request,
  resetPassword,
  resetPasswordJob,
  settled,
  statusIs,
  storeEvent,
  testEnv,
  uid,
} from "./helpers.ts";

const cartRecovery = VALID_PAYLOADS["email/cart-recovery"].payload;
const post = (path: string, body?: unknown) =>
  request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const json = async (response: Response) => ({
  status: response.status,
  body: (await response.json()) as Record<string, unknown>,
});

/** A cart-recovery email due in `ms`: the delayed job a producer cancels when the cart is bought. */
const delayed = (ms: number) => ({
  ...envelope("email/cart-recovery", cartRecovery),
  scheduledAt: new Date(Date.now() + ms).toISOString(),
});

describe("POST /events/:id/cancel", () => {
  it("cancels a scheduled event: no backend call when its time comes, and /status says cancelled", async () => {
    const event = delayed(1500);
    expect((await dispatch([event])).instances[0]?.status).toBe("scheduled");
    const cancelled = await json(await post(`/events/${event.id}/cancel`));
    expect(cancelled).toEqual({
      status: 200,
      body: {
        id: event.id,
        status: "cancelled",
        note: expect.stringMatching(/already performed stay performed/),
      },
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(await backend.calls(event.id)).toEqual([]);
    expect((await statusIs(event.id, "cancelled")).status).toBe("cancelled");
  });

  it("answers the same when cancelled twice, 404 for an unknown id, 409 for a delivered event", async () => {
    const event = delayed(60_000);
    await dispatch([event]);
    const first = await json(await post(`/events/${event.id}/cancel`));
    expect(await json(await post(`/events/${event.id}/cancel`))).toEqual(first);
    expect((await post(`/events/${uid("nope")}/cancel`)).status).toBe(404);
    const done = envelope("email/reset-password", resetPassword);
    await dispatch([done]);
    expect((await settled(done.id)).status).toBe("complete");
    expect(await json(await post(`/events/${done.id}/cancel`))).toEqual({
      status: 409,
      body: { error: "Already delivered" },
    });
    expect((await post(`/events/${event.id}/cancel`, undefined)).status).toBe(200);
  });

  it("refuses an event whose steps all ran though its receipt was not written, and records it delivered", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    // The receipt lost: the row still says the instance runs.
    await testEnv.DB.prepare("UPDATE events SET state = 'started' WHERE id = ?1").bind(event.id).run();
    expect(await json(await post(`/events/${event.id}/cancel`))).toEqual({
      status: 409,
      body: { error: "Already delivered" },
    });
    expect((await statusIs(event.id, "complete")).status).toBe("complete");
  });

  it("starts nothing for a re-send of a cancelled event and reports it cancelled", async () => {
    const event = delayed(60_000);
    await dispatch([event]);
    await post(`/events/${event.id}/cancel`);
    expect((await dispatch([event])).instances).toEqual([
      { id: event.id, name: event.name, status: "cancelled" },
    ]);
  });

  it("stops an event retrying in the recovery tier, saying which steps were performed", async () => {
    const event = envelope("email/reset-password", resetPassword);
    // Four failures hand it over; the recovery attempt is held long enough to cancel first.
    await backend.fault({ eventId: event.id, status: 502, count: 4 });
    await backend.fault({ eventId: event.id, status: 502, count: 1, latencyMs: 1500 });
    await dispatch([event]);
    await statusIs(event.id, "waiting");
    const cancelled = await json(await post(`/events/${event.id}/cancel`));
    expect(cancelled.body).toMatchObject({ status: "cancelled", performedSteps: [] });
    const calls = (await backend.calls(event.id)).length;
    await new Promise((r) => setTimeout(r, 4000));
    // At most the attempt already in flight when it was cancelled; nothing after it.
    expect((await backend.calls(event.id)).length).toBeLessThanOrEqual(calls + 1);
    expect((await statusIs(event.id, "cancelled")).status).toBe("cancelled");
  });
});

describe("POST /events/cancel", () => {
  it("cancels up to 1,000 ids with a result per id", async () => {
    const [a, b] = [delayed(60_000), delayed(60_000)];
    await dispatch([a, b]);
    const unknown = uid("nope");
    const { status, body } = await json(await post("/events/cancel", { ids: [a.id, b.id, unknown, a.id] }));
    expect(status).toBe(200);
    expect(body.results).toEqual([
      { id: a.id, status: "cancelled", note: expect.any(String) },
      { id: b.id, status: "cancelled", note: expect.any(String) },
      { id: unknown, status: 404, error: "Unknown event id" },
    ]);
    const tooMany = Array.from({ length: 1001 }, (_, i) => `e${i}`);
    expect((await post("/events/cancel", { ids: tooMany })).status).toBe(400);
    expect((await post("/events/cancel", { ids: [] })).status).toBe(400);
    expect((await request("/events/cancel", { method: "POST", token: null })).status).toBe(401);
  });
});

describe("cancel racing creation", () => {
  it("never creates an event cancelled before its creation, on the dispatch path too", async () => {
    const id = uid("race");
    const job = resetPasswordJob(id);
    // Recorded, then cancelled before the creator got to it (its answer was already sent).
    await storeEvent({ id, job, state: "cancelled", dueAt: Date.now() + 60_000 });
    const report = await createInstances(testEnv, [job], "dispatch", { claimedUntil: Date.now() + 60_000 });
    expect(report.started).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await backend.calls(id)).toEqual([]);
    expect(await lookUp(testEnv.EMAIL_WORKFLOW, id)).toBe("missing");
  });
});
