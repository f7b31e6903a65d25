import { describe, expect, it } from "vitest";
import { type CallCounts, callStats, minuteOf, recentCalls } from "../../worker/src/store/backend-calls.ts";
import { transition } from "../../worker/src/store/transitions.ts";
import { ALERTS, RETENTION } from "../../worker/src/topology.ts";
import {
  callsDuring,
  deliver,
  passTail,
  payout,
  scheduled,
  stackEnv,
  WORKFLOW_ATTEMPTS,
} from "./alerts-setup.ts";
import { backend, dispatch, envelope, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";

describe("backend call accounting", () => {
  it("counts a delivered event's steps as ok calls and each injected 503 as a failed one", async () => {
    const event = envelope("payment/process-payout", payout);
    const fault = { path: "payment/process-payout", status: 503, count: 2 };
    expect(await callsDuring(() => deliver(event, fault))).toEqual({ ok: 3, failed: 2 });
  });

  it("counts a delivery once, whether the tail passes its row before or after its receipt", async () => {
    // Still calling when the tail passes it: the receipt counts its calls.
    const slow = envelope("payment/process-payout", payout);
    const early = await callsDuring(async () => {
      await backend.fault({
        eventId: slow.id,
        path: "payment/notify-payout-status",
        status: 200,
        latencyMs: 800,
        count: 1,
      });
      await dispatch([slow]);
      await backend.waitForCalls(slow.id, 3);
      await passTail();
      await statusIs(slow.id, "complete");
    });
    expect(early).toEqual({ ok: 3, failed: 0 });
    // Delivered before the tail passes it: the tail counts them.
    const fast = envelope("payment/process-payout", payout);
    expect(await callsDuring(() => deliver(fast))).toEqual({ ok: 3, failed: 0 });
  });

  it("counts the calls of an event the recovery queue finished: steps before the hand-over, then each step", async () => {
    const event = envelope("payment/process-payout", payout);
    const fault = { path: "payment/process-payout", status: 503, count: WORKFLOW_ATTEMPTS + 1 };
    // validate (before the hand-over), process and notify (recovery): 3 ok; 4 + 1 failed.
    expect(await callsDuring(() => deliver(event, fault))).toEqual({ ok: 3, failed: WORKFLOW_ATTEMPTS + 1 });
  });

  it("counts calls only with a transition that applied, in the batch that records it", async () => {
    const delivered = uid("acct");
    const retrying = uid("acct");
    const job = (id: string) => ({ id, name: "email/verification" });
    await storeEvent({ id: delivered, job: job(delivered), state: "delivered" });
    await storeEvent({ id: retrying, job: job(retrying), state: "retrying", dueAt: Date.now() + 3_600_000 });
    const history = { outcome: "done" };
    const apply = (id: string, calls: CallCounts, note: typeof history | null) =>
      transition(testEnv.DB, id, {
        name: "retry",
        by: "recovery",
        changes: { calls },
        ...(note ? { note } : {}),
      });
    // Not from `delivered`: neither the update, nor its history, nor its calls.
    expect(
      await callsDuring(async () => {
        expect(await apply(delivered, { ok: 5 }, history)).toBe(false);
        expect(await apply(delivered, { ok: 3 }, null)).toBe(false);
      }),
    ).toEqual({ ok: 0, failed: 0 });
    // Applied, with and without a history row before the count.
    expect(
      await callsDuring(async () => {
        expect(await apply(retrying, { ok: 2 }, history)).toBe(true);
        expect(await apply(retrying, { ok: 1, failed: 1 }, null)).toBe(true);
      }),
    ).toEqual({ ok: 3, failed: 1 });
  });

  it("measures the failure rate only up to the creation tail's reach, where the successes are counted too", async () => {
    await passTail();
    const now = Date.now();
    // An event written now, not passed by the tail yet: its minute's successes are not counted,
    // so neither are the failures counted in it (the rate would read high).
    const id = uid("unpassed");
    await storeEvent({ id, job: { id, name: "email/verification" }, state: "delivered", at: now });
    await testEnv.DB.prepare(
      "INSERT INTO backend_calls (minute, ok, failed) VALUES (?1, 0, 5) ON CONFLICT (minute) DO UPDATE SET failed = failed + 5",
    )
      .bind(minuteOf(now))
      .run();
    const held = await recentCalls(testEnv.DB, ALERTS.windowMs, now);
    expect(held.until).toBe(now);
    // The window stops before this minute: its 5 failures (and any earlier ones) wait.
    const withMinute = await callStats(testEnv.DB, now - ALERTS.windowMs, now + 60_000);
    expect(held.failed).toBeLessThanOrEqual(withMinute.failed - 5);
    // Once the tail has passed the event, that minute counts, with the event's success.
    await passTail();
    const counted = await recentCalls(testEnv.DB, ALERTS.windowMs, Date.now());
    expect(counted.failed).toBeGreaterThanOrEqual(held.failed + 5);
    expect(counted.ok).toBeGreaterThanOrEqual(held.ok + 1);
  });

  it("reports the calls of a window, and retention forgets minutes older than RETENTION_DAYS", async () => {
    const now = Date.now();
    const old = now - 8 * 86_400_000;
    const stale = now - ALERTS.windowMs - 5 * 60_000;
    const inWindow = await recentCalls(testEnv.DB, ALERTS.windowMs, now);
    const insert = (at: number, ok: number, failed: number) =>
      testEnv.DB.prepare("INSERT INTO backend_calls (minute, ok, failed) VALUES (?1, ?2, ?3)")
        .bind(minuteOf(at), ok, failed)
        .run();
    await insert(old, 40, 40);
    await insert(stale, 7, 7);
    expect(await recentCalls(testEnv.DB, ALERTS.windowMs, now)).toEqual(inWindow);
    await scheduled(stackEnv(), RETENTION.cron);
    const minute = (at: number) =>
      testEnv.DB.prepare("SELECT ok FROM backend_calls WHERE minute = ?1").bind(minuteOf(at)).first();
    expect(await minute(old)).toBeNull();
    expect(await minute(stale)).toEqual({ ok: 7 });
  });
});
