import { afterEach, describe, expect, it } from "vitest";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { envelopeSdk, legacySdk } from "../support/sdk-behaviour.ts";
import { dispatch, envelope, request, settled, storeEvent, testEnv } from "../worker/helpers.ts";
import { faults, injected, performed, reach, reconcile, stateOf, verification } from "./platform-setup.ts";

afterEach(async () => {
  await faults({});
});

describe("creating instances when the platform fails", () => {
  it("answers accepted when createBatch throws, and the reconciler creates each event once", async () => {
    await faults({ createFailRate: 1 });
    const events = Array.from({ length: 5 }, verification);
    const result = await dispatch(events);
    expect(result.errors).toBeUndefined();
    expect(result.ids).toEqual(events.map((e) => e.id));
    for (const e of events) expect(await reach(e.id, "accepted")).toBe("accepted");
    await new Promise((r) => setTimeout(r, 100)); // the failed creation has released its claims
    expect(((await (await request(`/status/${events[0]?.id}`)).json()) as { status: string }).status).toBe(
      "queued",
    );

    await faults({});
    await reconcile();
    for (const e of events) expect((await settled(e.id)).status).toBe("complete");
    for (const e of events) expect(await performed(e.id)).toBe(1);
  });

  it("keeps creations under the platform's rate and loses none of a burst", async () => {
    await faults({ createRatePerSecond: 100 });
    const names = ["email/verification", "notification/create", "whatsapp/send-template"] as const;
    const events = Array.from({ length: 300 }, (_, i) => {
      const name = names[i % names.length] as (typeof names)[number];
      return envelope(name, VALID_PAYLOADS[name].payload);
    });
    const result = await dispatch(events);
    expect(result.errors).toBeUndefined();
    for (const e of events) expect((await settled(e.id, 30_000)).status).toBe("complete");
    const stats = await injected();
    expect(stats.injected.createRate).toBe(0);
    expect(stats.peakCreationsPerSecond).toBeLessThanOrEqual(100);
    expect(stats.instances).toBeGreaterThanOrEqual(300);
  }, 60_000);

  it("backs off when the platform's budget is smaller than its pace, and still creates every event", async () => {
    await faults({ createRatePerSecond: 15 });
    const events = Array.from({ length: 60 }, verification);
    expect((await dispatch(events)).errors).toBeUndefined();
    // Each run creates what the budget allows and releases the rest to the next one.
    const created = () => Promise.all(events.map((e) => stateOf(e.id)));
    for (let run = 0; run < 30; run++) {
      if ((await created()).every((s) => s !== "accepted")) break;
      await new Promise((r) => setTimeout(r, 1000));
      await reconcile();
    }
    const stats = await injected();
    await faults({});
    expect(stats.injected.createRate).toBeGreaterThan(0);
    for (const e of events) expect((await settled(e.id)).status).toBe("complete");
    for (const e of events) expect(await performed(e.id)).toBe(1);
  }, 60_000);

  it("answers 503 with Retry-After and records nothing when D1 fails at admission", async () => {
    await faults({ d1FailRate: 1 });
    const event = verification();
    const response = await request("/dispatch", {
      method: "POST",
      body: JSON.stringify({ events: [event] }),
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect([envelopeSdk.status(response.status), legacySdk.status(response.status)]).toEqual([
      "retry",
      "retry",
    ]);
    await faults({});
    expect(await stateOf(event.id)).toBeUndefined();
    // The producer's retry of the whole request goes through.
    expect((await dispatch([event])).ids).toEqual([event.id]);
    expect((await settled(event.id)).status).toBe("complete");
    expect(await performed(event.id)).toBe(1);
  });

  it("takes over an abandoned claim once, even when its instance was created but not recorded", async () => {
    const [lost, created] = [verification(), verification()];
    // A request that recorded both, created neither (`lost`) or created one without saying so.
    for (const e of [lost, created])
      await storeEvent({ id: e.id, job: e, state: "accepted", dueAt: 0, createAttempts: 1 });
    await testEnv.EMAIL_WORKFLOW.create({ id: created.id, params: created as never });
    await reconcile();
    for (const e of [lost, created]) expect((await settled(e.id)).status).toBe("complete");
    await new Promise((r) => setTimeout(r, 300));
    expect(await performed(lost.id)).toBe(1);
    expect(await performed(created.id)).toBe(1);
  });
});
