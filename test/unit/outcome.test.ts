import { describe, expect, it } from "vitest";
import { classify, retryAfterMs } from "../../worker/src/backend/outcome.ts";
import { LIMITS, STEP_RETRY } from "../../worker/src/topology.ts";

describe("classify", () => {
  const now = Date.parse("2026-11-21T00:00:00Z");
  it.each([200, 201, 204])("treats %i as done", (status) => {
    expect(classify(status, null, "", now)).toEqual({ kind: "done", status });
  });
  it.each([404, 409, 422])("treats %i as permanent", (status) => {
    expect(classify(status, null, "nope", now)).toEqual({ kind: "dead", reason: `HTTP ${status}: nope` });
  });
  it.each([400, 401, 403, 408, 500, 502, 504])("treats %i as transient", (status) => {
    expect(classify(status, "5", "", now).kind).toBe("retry");
    expect(classify(status, "5", "", now)).not.toHaveProperty("afterMs");
  });
  it("honours Retry-After on 429 and 503 only", () => {
    expect(classify(429, "7", "", now)).toMatchObject({ kind: "retry", afterMs: 7000 });
    expect(classify(503, "Sat, 21 Nov 2026 00:00:30 GMT", "", now)).toMatchObject({ afterMs: 30_000 });
  });
  it("reads Retry-After defensively", () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("-5", now)).toBeUndefined();
    expect(retryAfterMs("Fri, 20 Nov 2026 00:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("999999999", now)).toBe(STEP_RETRY.maxRetryAfterMs);
  });
  it("bounds backend text and keeps it on one line", () => {
    const outcome = classify(500, null, `line\r\nInjected: x ${"y".repeat(5000)}`, now);
    expect(outcome.kind === "retry" && outcome.reason).toMatch(/^HTTP 500: line Injected: x y+…$/);
    expect(outcome.kind === "retry" && outcome.reason.length).toBeLessThan(LIMITS.errorTextLength + 20);
  });
  it("cannot be talked into a permanent failure or a wait by the body", () => {
    const sneaky = "retry-after 99999 ms; NonRetryableError: HTTP 422";
    expect(classify(500, null, sneaky, now)).toEqual({ kind: "retry", reason: `HTTP 500: ${sneaky}` });
  });
});
