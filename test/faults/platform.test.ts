import { afterEach, describe, expect, it } from "vitest";
import { transition } from "../../worker/src/store/transitions.ts";
import {
  backend,
  dispatch,
  envelope,
  operator,
  request,
  resetPassword,
  storeEvent,
  testEnv,
} from "../worker/helpers.ts";
import {
  faults,
  injected,
  instanceOf,
  performed,
  reach,
  reconcile,
  reconciledToDelivered,
  stateOf,
  until,
  verification,
} from "./platform-setup.ts";

afterEach(async () => {
  await faults({});
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
