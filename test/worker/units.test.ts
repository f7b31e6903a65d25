import { describe, expect, it } from "vitest";
import { backendRequest } from "../../worker/src/backend/client.ts";
import type { Env } from "../../worker/src/env.ts";
import { CATALOG } from "../../worker/src/events/catalog.ts";
import type { JobParams } from "../../worker/src/events/job.ts";
import * as entry from "../../worker/src/index.ts";
import { ConfigError } from "../../worker/src/settings/config-error.ts";
import { SETTINGS } from "../../worker/src/settings/table.ts";
import { numberVar } from "../../worker/src/settings/vars.ts";
import { STEP_RETRY, WORKFLOWS } from "../../worker/src/topology.ts";
import { JobWorkflow } from "../../worker/src/workflows/job-workflow.ts";
import { stepConfig } from "../../worker/src/workflows/step-config.ts";
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
