import { afterEach, describe, expect, it } from "vitest";
import { PLATFORM_FAULTS_PATH } from "../../worker/local/faults/config.ts";
import { TEST_BACKEND_TOKEN } from "../support/settings.ts";
import { authed, call, control, id, job, raw } from "./layer-setup.ts";

describe("the wrapper worker", () => {
  afterEach(async () => {
    await control({});
  });

  it("is bound to no faults until told otherwise", async () => {
    expect(raw.PLATFORM_FAULTS).toBe("{}");
    const { faults, stats } = await control();
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
  });

  it("fails a route that reads D1 at d1FailRate 1, leaves a verified /health alone, and counts the faults", async () => {
    // /health reads D1 until it has seen this release's migrations; after that, never again.
    expect((await call("/health")).status).toBe(200);
    expect((await control({ d1FailRate: 1, seed: 1 })).faults).toEqual({ d1FailRate: 1, seed: 1 });
    expect((await call("/health")).status).toBe(200);
    const status = await authed("/status/evt_faults_1");
    expect(status.status).toBeGreaterThanOrEqual(500);
    const { stats } = await control();
    expect(stats.injected.d1).toBeGreaterThan(0);
    expect(stats.injected.d1).toBe(stats.calls.d1);
    expect(stats.seed).toBe(1);
  });

  it("serves the same route at d1FailRate 0, still counting the calls", async () => {
    await control({ d1FailRate: 0 });
    expect((await authed("/status/evt_faults_2")).status).toBe(404);
    const { stats } = await control();
    expect(stats.calls.d1).toBeGreaterThan(0);
    expect(stats.injected.d1).toBe(0);
  });

  it("resets the stats when the faults are replaced", async () => {
    await control({ d1FailRate: 1 });
    await authed("/status/evt_faults_3");
    expect((await control()).stats.injected.d1).toBeGreaterThan(0);
    expect((await control({ d1FailRate: 1 })).stats.injected.d1).toBe(0);
  });

  it("refuses invalid faults with 400 and keeps the ones in force", async () => {
    await control({ queueSendFailRate: 0.5, seed: 3 });
    for (const body of ['{"d1FailRate": 2}', '{"createRatePerSecond": 0}', '{"unknown": 1}', "{not json"]) {
      const response = await call(PLATFORM_FAULTS_PATH, { method: "POST", body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^PLATFORM_FAULTS is invalid: /);
    }
    expect((await control()).faults).toEqual({ queueSendFailRate: 0.5, seed: 3 });
  });

  it("runs every Workflow instance with the wrapped env", async () => {
    await control({});
    // A permanent backend failure: the instance records the event dead in D1, through its env.
    const eventId = id("wf");
    const fault = await fetch(`${raw.BACKEND_URL}/control/faults`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_BACKEND_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ eventId, status: 404 }),
    });
    expect(fault.ok).toBe(true);
    const instance = await raw.EMAIL_WORKFLOW.create(job(eventId));
    const deadline = Date.now() + 15_000;
    while (!["complete", "errored"].includes((await instance.status()).status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Created on the raw binding, so only the instance's own D1 calls can have been counted.
    const { stats } = await control();
    expect(stats.calls.create).toBe(0);
    expect(stats.calls.d1).toBeGreaterThan(0);
  });
});
