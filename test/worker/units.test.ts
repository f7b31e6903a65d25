import { describe, expect, it } from "vitest";
import { backendRequest } from "../../worker/src/backend/client.ts";
import { decodeHeaderValue, encodeHeaderValue } from "../../worker/src/backend/header-value.ts";
import { classify, retryAfterMs } from "../../worker/src/backend/outcome.ts";
import { chunk } from "../../worker/src/dispatch/creation.ts";
import type { Env } from "../../worker/src/env.ts";
import { CATALOG } from "../../worker/src/events/catalog.ts";
import type { JobParams } from "../../worker/src/events/job.ts";
import * as entry from "../../worker/src/index.ts";
import { FINAL_STATES } from "../../worker/src/lifecycle/machine.ts";
import { producerStatus } from "../../worker/src/operations/producer-status.ts";
import { SETTINGS } from "../../worker/src/settings/table.ts";
import { ConfigError, numberVar } from "../../worker/src/settings/vars.ts";
import type { StoredEvent } from "../../worker/src/store/events.ts";
import { CREATION, LIMITS, STEP_RETRY, WORKFLOWS } from "../../worker/src/topology.ts";
import { JobWorkflow, stepConfig } from "../../worker/src/workflows/job-workflow.ts";
import { testEnv } from "./helpers.ts";

const job = (id: string, bytes = 10): JobParams => ({
  id,
  name: "email/verification",
  payload: { email: "a@b.c", otpCode: "x".repeat(bytes) },
  traceId: id,
  idempotencyKey: id,
  createdAt: "2026-01-01T00:00:00Z",
});

describe("topology", () => {
  it("exports every Workflow class it names, each built on the shared runner", () => {
    for (const { className } of Object.values(WORKFLOWS)) {
      const exported = (entry as Record<string, unknown>)[className];
      expect(exported, className).toBeTypeOf("function");
      expect((exported as { prototype: unknown }).prototype).toBeInstanceOf(JobWorkflow);
    }
  });

  it("routes every catalog event to a Workflow the topology declares", () => {
    for (const definition of Object.values(CATALOG)) expect(WORKFLOWS).toHaveProperty(definition.workflow);
  });
});

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

describe("backend request", () => {
  it("falls back to the dispatch token when no backend token is set", async () => {
    const request = await backendRequest(
      { ...testEnv, BACKEND_TOKEN: undefined },
      job("evt_1"),
      "email/verification",
    );
    expect(request.headers.get("authorization")).toBe(`Bearer ${testEnv.AUTH_TOKEN}`);
  });
  it("keeps a path prefix in BACKEND_URL", async () => {
    const request = await backendRequest(
      { ...testEnv, BACKEND_URL: "https://api.example.com/v1/" },
      job("e"),
      "a/b",
    );
    expect(request.url).toBe("https://api.example.com/v1/workflows/execute/a/b");
  });
});

describe("chunk", () => {
  it("splits at the createBatch ceiling or the creation pace, whichever is lower", () => {
    const sizes = chunk(Array.from({ length: 250 }, (_, i) => job(`e${i}`))).map((c) => c.length);
    const most = Math.min(LIMITS.createBatchInstances, CREATION.perSecond);
    expect(sizes).toEqual([most, most, most, 250 - 3 * most]);
  });
  it("splits before a chunk would pass the byte ceiling, keeping order", () => {
    const big = Array.from({ length: 5 }, (_, i) => job(`e${i}`, 300 * 1024));
    const chunks = chunk(big);
    expect(chunks.map((c) => c.length)).toEqual([3, 2]);
    expect(chunks.flat().map((j) => j.id)).toEqual(big.map((j) => j.id));
    for (const c of chunks) expect(JSON.stringify(c).length).toBeLessThanOrEqual(LIMITS.createBatchBytes);
  });
});

describe("numeric vars", () => {
  const env = (vars: Record<string, string>) => vars as unknown as Env;
  it("uses the default when unset and a valid value when set", () => {
    expect(numberVar(env({}), "maxEventsPerRequest")).toBe(1000);
    expect(numberVar(env({ BACKEND_TIMEOUT_MS: "2500" }), "backendTimeoutMs")).toBe(2500);
  });
  it.each([["abc"], ["0"], ["-5"], ["1.5"], ["200000"], [""]])("refuses BACKEND_TIMEOUT_MS=%j", (value) => {
    expect(() => numberVar(env({ BACKEND_TIMEOUT_MS: value }), "backendTimeoutMs")).toThrow(ConfigError);
  });
  // The stack reader refuses the same values (test/node/settings.test.ts): one range, in the table.
  it.each(["maxEventsPerRequest", "backendTimeoutMs"] as const)("holds %s to its setting's range", (key) => {
    const { binding, range } = SETTINGS[key];
    const [min, max] = range;
    for (const outside of [min - 1, max + 1])
      expect(() => numberVar(env({ [binding]: String(outside) }), key)).toThrow(`from ${min} to ${max}`);
    for (const inside of [min, max]) expect(numberVar(env({ [binding]: String(inside) }), key)).toBe(inside);
  });
});

describe("the step retry delay", () => {
  // The engine fails a step for good when its delay function throws: the event would wait a
  // minute in the recovery tier instead of being retried in seconds.
  const delay = stepConfig({ ...testEnv, RETRY_DELAY_SCALE: "1" }).retries?.delay as (
    input: unknown,
  ) => number;
  it("waits the base delay, or what Retry-After asked divided by the backoff", () => {
    expect(delay({ ctx: { attempt: 1 }, error: new Error("x failed: HTTP 503") })).toBe(STEP_RETRY.delayMs);
    expect(delay({ ctx: { attempt: 2 }, error: new Error("retry-after 8000 ms; x failed") })).toBe(4000);
  });
  it.each([
    ["no error", { ctx: { attempt: 2 } }],
    ["an error without a text message", { ctx: { attempt: 2 }, error: { message: 42 } }],
    ["no attempt", { error: new Error("retry-after 5000 ms; x") }],
  ])("never throws, on %s", (_, input) => {
    expect(delay(input)).toBeGreaterThanOrEqual(STEP_RETRY.delayMs);
  });
});

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

describe("lifecycle", () => {
  it("derives the final states (retention may forget them) from the transitions", () => {
    expect(FINAL_STATES).toEqual(["delivered", "discarded", "cancelled"]);
  });
});

describe("header values", () => {
  it.each([
    ["tenant-7", "tenant-7"],
    ["inner space", "inner space"],
    ["شركة", "UTF-8''%D8%B4%D8%B1%D9%83%D8%A9"],
    ["utf-8''x", "UTF-8''utf-8''x"],
    ["line\nbreak", "UTF-8''line%0Abreak"],
  ])("%j travels as %j and decodes back", (value, sent) => {
    expect(encodeHeaderValue(value)).toBe(sent);
    expect(decodeHeaderValue(sent)).toBe(value);
  });
});
