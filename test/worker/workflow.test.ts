import { describe, expect, it } from "vitest";
import { STEP_RETRY } from "../../worker/src/topology.ts";
import { TEST_BACKEND_TIMEOUT_MS, TEST_BACKEND_TOKEN, TEST_RETRY_DELAY_SCALE } from "../support/settings.ts";
import { backend, dispatch, envelope, legacy, resetPassword, settled, statusIs, testEnv } from "./helpers.ts";
import { PAYOUT_STEPS, payout } from "./workflow-setup.ts";

describe("backend callback", () => {
  it("sends every contract header, the raw payload and a per-step idempotency key", async () => {
    const event = { ...envelope("email/reset-password", { ...resetPassword, tenantId: "  tenant-7 " }) };
    await dispatch([event]);
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call).toMatchObject({
      path: "email/reset-password",
      eventId: event.id,
      traceId: event.traceId,
      idempotencyKey: `${event.id}:email/reset-password`,
      tenantId: "tenant-7",
      authorized: true,
      status: 200,
    });
  });

  it("omits x-tenant-id when the payload has no string tenant and defaults the trace id to the id", async () => {
    const event = legacy("email/reset-password", resetPassword);
    await dispatch([event]);
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call?.tenantId).toBeNull();
    expect(call?.traceId).toBe(event.id);
  });

  it("forwards the payload exactly as the producer sent it", async () => {
    const payload = {
      ...resetPassword,
      userName: "  Ann  ",
      tenantName: " متجر الأمل ",
      extra: { kept: true },
    };
    const event = envelope("email/reset-password", payload);
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const [call] = await backend.calls(event.id);
    expect(JSON.parse(call?.body ?? "null")).toEqual(payload);
  });

  it("runs the payout's three steps in order, each with its own key", async () => {
    const event = envelope("payment/process-payout", payout);
    await dispatch([event]);
    const status = await settled(event.id);
    expect(status.status).toBe("complete");
    const calls = await backend.calls(event.id);
    expect(calls.map((c) => c.path)).toEqual(PAYOUT_STEPS);
    expect(calls.map((c) => c.idempotencyKey)).toEqual(PAYOUT_STEPS.map((s) => `${event.id}:${s}`));
    expect(calls.every((c) => c.tenantId === "t_1" && c.traceId === event.traceId)).toBe(true);
    expect(status.output).toEqual({
      status: "delivered",
      steps: PAYOUT_STEPS.map((step) => ({ step, status: 200 })),
    });
  });

  it("authenticates to the backend with the backend token", async () => {
    // The reference backend only accepts TEST_BACKEND_TOKEN, not the dispatch token.
    expect(TEST_BACKEND_TOKEN).not.toBe("");
    const event = envelope("email/reset-password", resetPassword);
    await dispatch([event]);
    expect((await backend.waitForCalls(event.id, 1))[0]?.authorized).toBe(true);
  });
});

describe("step retries", () => {
  it("retries transient failures and completes", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: 2 });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const calls = await backend.calls(event.id);
    expect(calls.map((c) => c.status)).toEqual([500, 500, 200]);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
  });

  it("hands over to the recovery queue after 4 attempts (limit 3), reporting it honestly", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 502, count: 4 });
    await backend.fault({ eventId: event.id, status: 502, count: 1, latencyMs: 3000 }); // hold the recovery attempt
    await dispatch([event]);
    // Never `complete` while a step is still owed: waiting for its recovery attempt.
    const status = await statusIs(event.id, "waiting");
    expect(status.output).toEqual({
      status: "queued_for_retry",
      steps: [],
      failedStep: "email/reset-password",
    });
    expect(status.recovery).toMatchObject({ status: "retrying", failedStep: "email/reset-password" });
    expect(status.error).toEqual({
      name: "RetryingEvent",
      message: expect.stringMatching(/failed: HTTP 502/),
    });
    expect((await backend.calls(event.id)).slice(0, 4).map((c) => c.status)).toEqual([502, 502, 502, 502]);
    expect((await settled(event.id)).status).toBe("complete");
  });

  it.each([404, 409, 422])("stops after one call on a permanent %i", async (code) => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: code });
    await dispatch([event]);
    const status = await settled(event.id);
    expect(status.status).toBe("dead");
    expect(status.error).toEqual({
      name: "DeadEvent",
      message: expect.stringMatching(new RegExp(`failed permanently: HTTP ${code}`)),
    });
    expect(await backend.calls(event.id)).toHaveLength(1);
  });

  it("does not repeat a finished payout step when a later one is retried", async () => {
    const event = envelope("payment/process-payout", payout);
    await backend.fault({ eventId: event.id, path: "payment/process-payout", status: 503, count: 1 });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const calls = await backend.calls(event.id);
    expect(calls.map((c) => `${c.path} ${c.status}`)).toEqual([
      "payment/validate-payout 200",
      "payment/process-payout 503",
      "payment/process-payout 200",
      "payment/notify-payout-status 200",
    ]);
  });

  it("waits at least the Retry-After the backend asked for", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 503, count: 1, retryAfter: "2" });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const [first, second] = await backend.calls(event.id);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(2000);
  });

  it("spaces the retries of a step 1 s, 2 s, 4 s apart (scaled in tests)", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: 3 });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const at = (await backend.calls(event.id)).map((c) => c.at);
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    const base = STEP_RETRY.delayMs * TEST_RETRY_DELAY_SCALE;
    for (const [i, gap] of gaps.entries()) expect(gap, `gap ${i + 1}`).toBeGreaterThanOrEqual(base * 2 ** i);
  });

  it("honours Retry-After on every retry, not only the first", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 503, count: 3, retryAfter: "1" });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const at = (await backend.calls(event.id)).map((c) => c.at);
    expect(at).toHaveLength(4);
    for (let i = 1; i < at.length; i++)
      expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThanOrEqual(1000);
  });

  it("treats a redirect as a transient failure and never follows it", async () => {
    const event = envelope("email/reset-password", resetPassword);
    // A 307 keeps the method: followed, it would POST the event to another step's path.
    const elsewhere = `${testEnv.BACKEND_URL}/workflows/execute/email/verification`;
    await backend.fault({ eventId: event.id, status: 307, count: 1, location: elsewhere });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const calls = await backend.calls(event.id);
    expect(calls.map((c) => `${c.path} ${c.status}`)).toEqual([
      "email/reset-password 307",
      "email/reset-password 200",
    ]);
  });

  it("retries a call that times out, and the backend performs it once", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({
      eventId: event.id,
      status: 200,
      count: 1,
      latencyMs: TEST_BACKEND_TIMEOUT_MS + 500,
    });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
    const calls = await backend.waitForCalls(event.id, 2);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
  });
});
