import { describe, expect, it } from "vitest";
import { TEST_AUTH_TOKEN, TEST_OPERATOR_TOKEN, TEST_OPERATOR_TOKEN_NEXT } from "../support/settings.ts";
import { dispatch, envelope, operator, request, resetPassword } from "./helpers.ts";

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
