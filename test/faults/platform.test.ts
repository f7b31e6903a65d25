import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { PLATFORM_FAULTS_PATH, type PlatformFaults } from "../../worker/local/faults/config.ts";
import type { PlatformFaultsState } from "../../worker/local/faults/control.ts";
import { transition } from "../../worker/src/store/transitions.ts";
import { RECONCILER } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { envelopeSdk, legacySdk } from "../support/sdk-behaviour.ts";
import {
  backend,
  dispatch,
  envelope,
  operator,
  request,
  resetPassword,
  settled,
  storeEvent,
  testEnv,
} from "../worker/helpers.ts";

/**
 * What happens to accepted events when Cloudflare's own services fail or push back: the worker
 * runs behind the fault layer (PLATFORM_FAULTS), and every test ends with each event delivered
 * once (or dead), never lost and never answered with a per-item error for the platform's trouble.
 */
/** What the layer injected so far (setting faults starts the counts again). */
async function injected(): Promise<PlatformFaultsState["stats"]> {
  const response = await exports.default.fetch(new Request(`https://jobs.test${PLATFORM_FAULTS_PATH}`));
  return ((await response.json()) as PlatformFaultsState).stats;
}

async function faults(set: PlatformFaults): Promise<PlatformFaultsState> {
  const response = await exports.default.fetch(
    new Request(`https://jobs.test${PLATFORM_FAULTS_PATH}`, { method: "POST", body: JSON.stringify(set) }),
  );
  expect(response.status).toBe(200);
  return response.json();
}

/** One reconciler run, as the cron would start it, through the fault layer. */
async function reconcile() {
  const worker = exports.default as unknown as {
    scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
  };
  await worker.scheduled({ cron: RECONCILER.cron, scheduledTime: new Date() });
}

/** The reconciler looks at rows whose time has come; tests move that time instead of waiting. */
const makeDue = (ids: readonly string[]) =>
  testEnv.DB.prepare("UPDATE events SET due_at = 0 WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(ids))
    .run();

/** Waits for an event to reach a state; returns the state it has at the end. */
const reach = (id: string, state: string, timeoutMs?: number) =>
  until(
    () => stateOf(id),
    (s) => s === state,
    timeoutMs,
  );

/** The repair every lost-send test ends with: time passes, the reconciler runs, the event is delivered once. */
async function reconciledToDelivered(id: string) {
  await faults({});
  await makeDue([id]);
  await reconcile();
  // An instance that was never recorded as started is first found (and recorded) by one run,
  // then repaired by the next, a check interval later.
  if ((await stateOf(id)) === "started") {
    await makeDue([id]);
    await reconcile();
  }
  expect(await reach(id, "delivered")).toBe("delivered");
  expect(await performed(id)).toBe(1);
}

/** The instance's status; "missing" until the worker has created it (after its answer). */
const instanceOf = (id: string) => () =>
  testEnv.EMAIL_WORKFLOW.get(id)
    .then((i) => i.status())
    .then((s) => s.status as string)
    .catch(() => "missing");

const stateOf = async (id: string) =>
  (await testEnv.DB.prepare("SELECT state FROM events WHERE id = ?1").bind(id).first<{ state: string }>())
    ?.state;

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Backend calls that performed the event's only step, and the 2xx answers it got (what a non-deduplicating backend would have done). */
async function performed(id: string) {
  const calls = await backend.calls(id);
  return calls.filter((c) => c.status >= 200 && c.status < 300).length;
}

const verification = () => envelope("email/verification", { email: "a@b.c", otpCode: "1" });

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

describe("handing over and replaying when the queue or D1 fails", () => {
  it("delivers an event whose recovery pointer could not be sent", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: 4 });
    await faults({ queueSendFailRate: 1 });
    await dispatch([event]);
    // The workflow gives up, records `retrying`, and cannot send the pointer for its whole budget.
    const instance = await until(instanceOf(event.id), (s) => s === "complete", 30_000);
    expect(instance).toBe("complete");
    expect(await stateOf(event.id)).toBe("retrying");
    // To its producer the event is waiting for a retry, not complete.
    expect(((await (await request(`/status/${event.id}`)).json()) as { status: string }).status).toBe(
      "waiting",
    );
    await reconciledToDelivered(event.id);
  }, 60_000);

  it("finishes a hand-over the workflow could not record, from its instance's output", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: 4 });
    await dispatch([event]);
    await backend.waitForCalls(event.id, 1);
    await faults({ d1FailRate: 1 });
    await until(instanceOf(event.id), (s) => s === "complete", 30_000);
    await faults({});
    expect(await stateOf(event.id)).toBe("accepted");
    await reconciledToDelivered(event.id);
  }, 60_000);

  it("replays a dead event whose pointer could not be sent", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 422, count: 1 });
    await dispatch([event]);
    await reach(event.id, "dead");
    await faults({ queueSendFailRate: 1 });
    const replay = await operator(`/failed-events/${event.id}/replay`, { method: "POST" });
    expect(replay.status).toBe(202);
    expect(await stateOf(event.id)).toBe("retrying");
    await reconciledToDelivered(event.id);
  });

  it("keeps a recovery message while D1 fails in the consumer, and delivers it after", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: 4 });
    await dispatch([event]);
    await reach(event.id, "retrying");
    await faults({ d1FailRate: 1 });
    await new Promise((r) => setTimeout(r, 1500)); // the first delivery (0.6 s) meets D1 down
    const stats = await injected();
    await faults({});
    expect(stats.injected.d1).toBeGreaterThan(0);
    expect(await reach(event.id, "delivered", 30_000)).toBe("delivered");
    expect(await performed(event.id)).toBe(1);
  }, 60_000);
});

describe("guarded transitions and concurrent repairs", () => {
  const historyCount = async (id: string) =>
    (
      await testEnv.DB.prepare("SELECT count(*) AS n FROM event_history WHERE event_id = ?1")
        .bind(id)
        .first<{ n: number }>()
    )?.n;

  it("never moves a settled event back: a late hand-over, a late recovery step, a refused discard", async () => {
    const delivered = verification();
    await dispatch([delivered]);
    await reach(delivered.id, "delivered");
    await testEnv.DB.prepare("UPDATE events SET failed_at = 1 WHERE id = ?1").bind(delivered.id).run();
    const before = await historyCount(delivered.id);
    const entry = { outcome: "retrying", detail: "late" };
    // A hand-over step re-run after delivery, and a recovery chain's step that lost the race.
    expect(
      await transition(testEnv.DB, delivered.id, {
        name: "handOver",
        by: "workflow",
        changes: { lastError: "late" },
        note: entry,
      }),
    ).toBe(false);
    expect(
      await transition(testEnv.DB, delivered.id, {
        name: "retry",
        by: "recovery",
        changes: { remainingSteps: [] },
        note: entry,
      }),
    ).toBe(false);
    expect((await operator(`/failed-events/${delivered.id}`, { method: "DELETE" })).status).toBe(409);
    expect(await stateOf(delivered.id)).toBe("delivered");
    expect(await historyCount(delivered.id)).toBe(before);
  });

  it("re-sends an overdue pointer once when two reconciler runs overlap", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await storeEvent({
      id: event.id,
      job: event,
      state: "retrying",
      failedAt: Date.now(),
      remainingSteps: ["email/reset-password"],
      dueAt: 0,
    });
    await Promise.all([reconcile(), reconcile()]);
    expect(await reach(event.id, "delivered")).toBe("delivered");
    const resent = await testEnv.DB.prepare(
      "SELECT count(*) AS n FROM event_history WHERE event_id = ?1 AND outcome = 'pointer re-sent'",
    )
      .bind(event.id)
      .first<{ n: number }>();
    expect(resent?.n).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await backend.calls(event.id)).length).toBe(1);
  });

  it("shows an event that could not be created for a day as dead, and its replay runs every step", async () => {
    const event = envelope("email/reset-password", resetPassword);
    const dayAgo = Date.now() - 25 * 60 * 60 * 1000;
    await storeEvent({
      id: event.id,
      job: event,
      state: "accepted",
      at: dayAgo,
      dueAt: 0,
      createAttempts: 30,
    });
    await reconcile();
    expect(await stateOf(event.id)).toBe("dead");
    expect(await backend.calls(event.id)).toHaveLength(0);
    expect((await operator(`/failed-events/${event.id}/replay`, { method: "POST" })).status).toBe(202);
    expect(await reach(event.id, "delivered")).toBe("delivered");
    expect(await performed(event.id)).toBe(1);
  });
});
