import { describe, expect, it } from "vitest";
import { backend, dispatch, envelope, legacy, request, resetPassword, settled, uid } from "./helpers.ts";

describe("delays", () => {
  it("holds a legacy delayMs event until its time and reports it scheduled", async () => {
    const event = { ...legacy("email/reset-password", resetPassword), delayMs: 1500 };
    const sent = Date.now();
    const result = await dispatch([event]);
    expect(result.instances[0]?.status).toBe("scheduled");
    const [call] = await backend.waitForCalls(event.id, 1);
    expect((call?.at ?? 0) - sent).toBeGreaterThanOrEqual(1500);
  });

  it("holds an envelope until scheduledAt", async () => {
    const at = Date.now() + 1500;
    const event = {
      ...envelope("email/reset-password", resetPassword),
      scheduledAt: new Date(at).toISOString(),
    };
    expect((await dispatch([event])).instances[0]?.status).toBe("scheduled");
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call?.at ?? 0).toBeGreaterThanOrEqual(at);
  });

  it("runs a past scheduledAt now", async () => {
    const event = { ...envelope("email/reset-password", resetPassword), scheduledAt: "2020-01-01T00:00:00Z" };
    expect((await dispatch([event])).instances[0]?.status).toBe("queued");
    expect(await backend.waitForCalls(event.id, 1)).toHaveLength(1);
  });

  it("rejects a delay over 365 days (negative and fractional ones are accepted: producers.test.ts)", async () => {
    const event = { ...legacy("email/reset-password", resetPassword), delayMs: 366 * 86_400_000 };
    const result = await dispatch([event]);
    expect(result.errors?.[0]?.error).toMatch(/^Invalid event structure: delayMs/);
  });

  it("rejects a scheduledAt over 365 days ahead", async () => {
    const far = new Date(Date.now() + 366 * 86_400_000).toISOString();
    const event = { ...envelope("email/reset-password", resetPassword), scheduledAt: far };
    expect((await dispatch([event])).errors?.[0]?.error).toMatch(/365 days/);
  });
});

describe("GET /status/:id", () => {
  it("reports a finished event with and without its name", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await dispatch([event]);
    await settled(event.id);
    for (const query of ["", "?name=email/reset-password"]) {
      const response = await request(`/status/${event.id}${query}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        id: event.id,
        name: "email/reset-password",
        status: "complete",
        traceId: event.traceId,
        idempotencyKey: event.idempotencyKey,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        output: { status: "delivered", steps: [{ step: "email/reset-password", status: 200 }] },
      });
    }
  });

  it("answers 404 for an unknown id or event name", async () => {
    expect((await request(`/status/${uid()}`)).status).toBe(404);
    expect((await request(`/status/${uid()}?name=nope/nothing`)).status).toBe(404);
    expect((await request("/status/..%2Fsecret")).status).toBe(404);
  });
});
