import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/src/index.ts";
import { recoveryDelay } from "../../worker/src/recovery/delay.ts";
import { QUEUES } from "../../worker/src/topology.ts";
import { TEST_RECOVERY_MAX_RETRIES } from "../support/settings.ts";
import { backend, dispatch, envelope, operator, resetPassword, settled, testEnv, uid } from "./helpers.ts";
import { type FailedEvent, failed, payout, until, WORKFLOW_ATTEMPTS } from "./recovery-setup.ts";

describe("recovery queue", () => {
  it("delivers an event the workflow gave up on, once, with the same ids", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: WORKFLOW_ATTEMPTS + 1 });
    await dispatch([event]);
    const record = await until(event.id, "delivered");
    const calls = await backend.calls(event.id);
    expect(calls.map((c) => c.status)).toEqual([500, 500, 500, 500, 500, 200]);
    expect(new Set(calls.map((c) => `${c.eventId} ${c.traceId} ${c.idempotencyKey}`))).toEqual(
      new Set([`${event.id} ${event.traceId} ${event.id}:email/reset-password`]),
    );
    expect(record.history.map((h) => `${h.tier}:${h.outcome}`)).toEqual([
      "workflow:retrying",
      "queue:retrying",
      "queue:done",
      "queue:delivered",
    ]);
  });

  it("resumes a payout at the failed step and never repeats step 1", async () => {
    const event = envelope("payment/process-payout", payout);
    await backend.fault({
      eventId: event.id,
      path: "payment/process-payout",
      status: 503,
      count: WORKFLOW_ATTEMPTS + 1,
    });
    await dispatch([event]);
    expect((await settled(event.id)).output).toMatchObject({
      status: "queued_for_retry",
      failedStep: "payment/process-payout",
    });
    await until(event.id, "delivered");
    const calls = (await backend.calls(event.id)).map((c) => `${c.path} ${c.status}`);
    expect(calls).toEqual([
      "payment/validate-payout 200",
      ...Array(WORKFLOW_ATTEMPTS + 1).fill("payment/process-payout 503"),
      "payment/process-payout 200",
      "payment/notify-payout-status 200",
    ]);
  });

  it("records a permanent failure in the workflow as dead, and reports it dead", async () => {
    const event = envelope("payment/process-payout", payout);
    await backend.fault({ eventId: event.id, path: "payment/notify-payout-status", status: 422 });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("dead");
    const record = await until(event.id, "dead");
    expect(record).toMatchObject({ failedStep: "payment/notify-payout-status", replayable: true });
    expect(record.lastError).toMatch(/failed permanently: HTTP 422/);
  });

  it("marks an event dead when the backend answers permanently during recovery", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 500, count: WORKFLOW_ATTEMPTS });
    await backend.fault({ eventId: event.id, status: 409, count: 1 });
    await dispatch([event]);
    const record = await until(event.id, "dead");
    expect(record.lastError).toMatch(/failed permanently: HTTP 409/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await backend.calls(event.id)).toHaveLength(WORKFLOW_ATTEMPTS + 1);
  });

  it("dead-letters after max_retries, then a replay delivers it once with the same ids", async () => {
    const deliveries = TEST_RECOVERY_MAX_RETRIES + 1;
    const event = envelope("email/reset-password", { ...resetPassword, tenantId: "t_dead" });
    await backend.fault({ eventId: event.id, status: 500, count: WORKFLOW_ATTEMPTS + deliveries });
    await dispatch([event]);
    const dead = await until(event.id, "dead", 30_000);
    expect(dead.lastError).toMatch(/Recovery queue exhausted its retries; last error: .*HTTP 500/);
    expect(dead.history.filter((h) => h.tier === "queue")).toHaveLength(deliveries);
    expect(await backend.calls(event.id)).toHaveLength(WORKFLOW_ATTEMPTS + deliveries);

    const replay = await operator(`/failed-events/${event.id}/replay`, { method: "POST" });
    expect(replay.status).toBe(202);
    await until(event.id, "delivered");
    const calls = await backend.calls(event.id);
    expect(calls.filter((c) => c.status === 200)).toHaveLength(1);
    expect(
      new Set(calls.map((c) => `${c.eventId} ${c.traceId} ${c.idempotencyKey} ${c.tenantId}`)).size,
    ).toBe(1);
    // Delivered events are not replayed again.
    expect((await operator(`/failed-events/${event.id}/replay`, { method: "POST" })).status).toBe(409);
  });

  it("honours a Retry-After longer than the ladder step", async () => {
    expect(recoveryDelay({ ...testEnv, RETRY_DELAY_SCALE: "1" }, 1, 120_000)).toBe(120);
    expect(recoveryDelay({ ...testEnv, RETRY_DELAY_SCALE: "1" }, 1, 1_000)).toBe(60);
  });

  it("climbs the ladder 1m 5m 15m 30m 45m 60m 90m 120m, then repeats the last", () => {
    const env = { ...testEnv, RETRY_DELAY_SCALE: "1" };
    const delays = Array.from({ length: 11 }, (_, i) => recoveryDelay(env, i + 1));
    expect(delays).toEqual([60, 300, 900, 1800, 2700, 3600, 5400, 7200, 7200, 7200, 7200]);
    expect(recoveryDelay(env, 1, 10 * 86_400_000)).toBe(86_400);
  });
});

describe("messages that match no event", () => {
  const run = async (queue: string, body: unknown) => {
    const batch = createMessageBatch(queue, [{ id: uid("msg"), timestamp: new Date(), attempts: 1, body }]);
    await worker.queue(batch, testEnv);
    return getQueueResult(batch, createExecutionContext());
  };

  it.each([
    ["recovery", QUEUES.recovery.name],
    ["dead-letter", QUEUES.deadLetter.name],
  ])("keeps an unknown id from the %s queue as a dead record", async (_, queue) => {
    const id = uid("ghost");
    const result = await run(queue, { eventId: id });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await failed(id)).toMatchObject({ status: "dead", replayable: false });
  });

  it("keeps an unreadable message as a dead orphan record", async () => {
    const result = await run(QUEUES.recovery.name, "not a pointer");
    const list = (await (await operator("/failed-events?name=unknown&limit=200")).json()) as {
      events: FailedEvent[];
    };
    const orphan = list.events.find((e) => e.id === `orphan_${result.explicitAcks[0]}`);
    expect(orphan).toMatchObject({ status: "dead", lastError: "Unreadable recovery message" });
  });
});
