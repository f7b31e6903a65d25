import { describe, expect, it } from "vitest";
import { app } from "../../worker/src/app.ts";
import { MASK, sensitiveFields } from "../../worker/src/events/masking.ts";
import { openApiDocument } from "../../worker/src/http/openapi.ts";
import { TEST_AUTH_TOKEN, TEST_OPERATOR_TOKEN, TEST_OPERATOR_TOKEN_NEXT } from "../support/settings.ts";
import {
  backend,
  dispatch,
  envelope,
  operator,
  request,
  resetPassword,
  statusIs,
  testEnv,
} from "./helpers.ts";

describe("operator access, separate from producers", () => {
  it("refuses a producer token on the operator API with 403 and says why", async () => {
    for (const [path, method] of [
      ["/failed-events", "GET"],
      ["/failed-events/evt_x", "GET"],
      ["/failed-events/evt_x/replay", "POST"],
      ["/failed-events/replay", "POST"],
      ["/failed-events/evt_x", "DELETE"],
    ] as const) {
      const response = await request(path, { method, token: TEST_AUTH_TOKEN });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toEqual({
        error: "Forbidden: this is the operator API; a producer token cannot use it",
      });
    }
  });

  it("accepts the operator token and the next one (rotation); anything else is 401", async () => {
    expect((await operator("/failed-events")).status).toBe(200);
    expect((await operator("/failed-events", { token: TEST_OPERATOR_TOKEN_NEXT })).status).toBe(200);
    expect((await operator("/failed-events", { token: "not-a-token" })).status).toBe(401);
    expect((await operator("/failed-events", { token: null })).status).toBe(401);
  });

  it("keeps producer routes for producers: an operator token cannot dispatch, read status or cancel", async () => {
    const event = envelope("email/reset-password", resetPassword);
    expect((await dispatch([event])).ids).toEqual([event.id]);
    const asOperator = { token: TEST_OPERATOR_TOKEN } as const;
    const post = { method: "POST", body: JSON.stringify({ events: [event] }) };
    expect((await request("/dispatch", { ...post, ...asOperator })).status).toBe(401);
    expect((await request(`/status/${event.id}`, asOperator)).status).toBe(401);
    expect((await request(`/events/${event.id}/cancel`, { method: "POST", ...asOperator })).status).toBe(401);
    expect((await request(`/status/${event.id}`)).status).toBe(200);
  });
});

describe("sensitive payload fields", () => {
  it("are masked in the operator API, and a replay still sends the original", async () => {
    const payload = { ...resetPassword, otpCode: "918273", extra: { apiKey: "k-123" } };
    const event = envelope("email/reset-password", payload);
    await backend.fault({ eventId: event.id, status: 422, count: 1, error: "otp 918273 is not accepted" });
    await dispatch([event]);
    await statusIs(event.id, "dead");
    const detail = (await (await operator(`/failed-events/${event.id}`)).json()) as {
      event: { payload: unknown };
      lastError: string;
    };
    expect(detail.event.payload).toEqual({ ...resetPassword, otpCode: MASK, extra: { apiKey: MASK } });
    expect(JSON.stringify(detail)).not.toContain("918273");
    const list = await (await operator(`/failed-events?name=email/reset-password&limit=200`)).text();
    expect(list).not.toContain("918273");
    // The backend echoed the code in its refusal: operators see the text with the code masked.
    expect(detail.lastError).toContain(`otp ${MASK} is not accepted`);

    expect((await operator(`/failed-events/${event.id}/replay`, { method: "POST" })).status).toBe(202);
    const calls = await backend.waitForCalls(event.id, 2);
    expect(JSON.parse(calls.at(-1)?.body ?? "{}")).toEqual(payload);
  });

  it("are marked once, in the catalog, and the OpenAPI document shows the mark", () => {
    expect([...sensitiveFields("email/new-account-credentials")]).toEqual(["temporaryPassword"]);
    expect([...sensitiveFields("email/cart-recovery")]).toEqual(["recoveryUrl", "recoveryToken"]);
    expect([...sensitiveFields("whatsapp/send-template")]).toEqual(["variables"]);
    // biome-ignore lint/suspicious/noExplicitAny: reads a JSON document by known paths.
    const schemas = (openApiDocument() as { components: { schemas: Record<string, any> } }).components
      .schemas;
    expect(schemas["email.reset-password"].properties.otpCode["x-sensitive"]).toBe(true);
  });
});

describe("operator access fails closed", () => {
  it("answers 500 on the operator API when no operator token is configured", async () => {
    const response = await app.fetch(
      new Request("https://jobs.test/failed-events", {
        headers: { authorization: `Bearer ${TEST_AUTH_TOKEN}` },
      }),
      { ...testEnv, OPERATOR_TOKEN: undefined, OPERATOR_TOKEN_NEXT: undefined },
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Server misconfigured: no operator token is set" });
  });

  it("answers 500 when the operator token equals a producer token (every producer would be an operator)", async () => {
    const response = await app.fetch(
      new Request("https://jobs.test/failed-events", {
        headers: { authorization: `Bearer ${TEST_AUTH_TOKEN}` },
      }),
      { ...testEnv, OPERATOR_TOKEN: TEST_AUTH_TOKEN },
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: "Server misconfigured: the operator token equals a producer token",
    });
  });
});
