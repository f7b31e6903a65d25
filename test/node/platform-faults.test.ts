import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import {
  describePlatformFaults,
  PLATFORM_FAULTS_PATH,
  PlatformFaultsError,
  parsePlatformFaults,
} from "../../worker/local/faults/config.ts";
import { readPlatformFaults, setPlatformFaults } from "../../worker/local/faults/control.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";

describe("PLATFORM_FAULTS", () => {
  const example =
    '{"createRatePerSecond": 100, "createFailRate": 0.05, "d1FailRate": 0.02, "queueSendFailRate": 0.1, "seed": 7}';

  it("parses the issue's example, and unset or blank as no faults", () => {
    expect(parsePlatformFaults(example)).toEqual({
      createRatePerSecond: 100,
      createFailRate: 0.05,
      d1FailRate: 0.02,
      queueSendFailRate: 0.1,
      seed: 7,
    });
    expect(parsePlatformFaults(undefined)).toEqual({});
    expect(parsePlatformFaults("  ")).toEqual({});
    expect(parsePlatformFaults("{}")).toEqual({});
  });

  it.each([
    ["not JSON", "{d1FailRate: 1}", /not JSON/],
    ["not an object", "[1]", /object/],
    ["an unknown key", '{"d1FailRate": 0.1, "queueFailRate": 0.1}', /queueFailRate/],
    ["a rate above 1", '{"createFailRate": 1.01}', /createFailRate/],
    ["a negative rate", '{"queueSendFailRate": -0.1}', /queueSendFailRate/],
    ["an after-effect rate above 1", '{"d1LostAnswerRate": 2}', /d1LostAnswerRate/],
    ["a fractional creation rate", '{"createRatePerSecond": 0.5}', /createRatePerSecond/],
    ["a zero creation rate", '{"createRatePerSecond": 0}', /createRatePerSecond/],
    ["a fractional seed", '{"seed": 1.5}', /seed/],
  ])("refuses %s with a named error", (_, text, problem) => {
    let error: unknown;
    try {
      parsePlatformFaults(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlatformFaultsError);
    expect(error).toMatchObject({ name: "PlatformFaultsError" });
    expect((error as PlatformFaultsError).issues.join("\n")).toMatch(problem);
    expect((error as Error).message).toContain("PLATFORM_FAULTS is invalid: ");
  });

  it("describes the active faults in one startup line", () => {
    expect(describePlatformFaults(parsePlatformFaults(example))).toBe(
      "platform faults: createBatch 5% fail, creations > 100/s rejected (429), D1 2%, queue send 10%, seed 7",
    );
    expect(describePlatformFaults({ d1FailRate: 0.125 })).toBe("platform faults: D1 12.5%, random seed");
    expect(
      describePlatformFaults(
        parsePlatformFaults(
          '{"createLostAnswerRate": 0.05, "d1LostAnswerRate": 0.01, "queueSendLostAnswerRate": 0.1, "seed": 2}',
        ),
      ),
    ).toBe(
      "platform faults: createBatch 5% created, answer lost, D1 1% committed, answer lost, queue send 10% sent, answer lost, seed 2",
    );
    expect(describePlatformFaults({})).toBe("platform faults: none, random seed");
  });
});

describe("startRuntime with platformFaults and scheduledIntervalMs", () => {
  const token = "faults-runtime-token";
  let backend: Backend;
  let runtime: Runtime;
  const logs: string[] = [];
  const status = (id: string) =>
    fetch(`${runtime.url}/status/${id}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    backend = await startBackend({ token });
    runtime = await startRuntime({
      authToken: token,
      backendUrl: backend.url,
      platformFaults: { d1FailRate: 1, seed: 11 },
      scheduledIntervalMs: 200,
      onLog: (line) => logs.push(line),
    });
  }, 60_000);
  afterAll(async () => {
    await runtime?.close();
    await backend?.close();
  });

  it("runs the wrapper in front of the worker, with the faults it was started with", async () => {
    // D1 has failed from the start: /health could never see the migrations, and says so.
    const health = await fetch(`${runtime.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ error: "Storage is unavailable; retry the request" });
    expect((await status("evt_runtime_faults")).status).toBeGreaterThanOrEqual(500);
    const { faults, stats } = await readPlatformFaults(runtime.url);
    expect(faults).toEqual({ d1FailRate: 1, seed: 11 });
    expect(stats.seed).toBe(11);
    expect(stats.injected.d1).toBeGreaterThan(0);
  });

  it("calls the scheduled handler on the interval, through the faulty bindings", async () => {
    await setPlatformFaults(runtime.url, { d1FailRate: 1 });
    // No request in between: only scheduled runs can reach D1.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { stats } = await readPlatformFaults(runtime.url);
    expect(stats.calls.d1).toBeGreaterThanOrEqual(2);
  });

  it("takes new faults at run time; none means the worker answers as usual", async () => {
    const { faults, stats } = await setPlatformFaults(runtime.url, {});
    expect(faults).toEqual({});
    expect(stats.injected).toEqual({
      createFail: 0,
      createRate: 0,
      d1: 0,
      queueSend: 0,
      createLost: 0,
      d1Lost: 0,
      queueSendLost: 0,
    });
    expect((await status("evt_runtime_faults")).status).toBe(404);
    const refused = await fetch(new URL(PLATFORM_FAULTS_PATH, runtime.url), { method: "POST", body: "[]" });
    expect(refused.status).toBe(400);
  });
});
