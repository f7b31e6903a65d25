import { describe, expect, it } from "vitest";
import type { JobParams } from "../../worker/src/events/job.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { CREATION, QUEUES } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { backend, operator, request, settled, storeEvent, testEnv, uid } from "./helpers.ts";
import { consume, DAY, jobOf, RETIRED, row } from "./releases-setup.ts";

describe("an event this release cannot route", () => {
  it("accepted: claimed a bounded number of times (a newer release may take it), then dead with the reason", async () => {
    const id = uid("retired");
    const now = Date.now();
    await storeEvent({ id, job: jobOf(id, RETIRED), state: "accepted", dueAt: now - 1, at: now - DAY - 1 });
    await reconcile(testEnv, now);
    // Not dead at the first look: it stays accepted, its tries counted.
    expect(await row(id)).toMatchObject({ state: "accepted", create_attempts: 2 });
    let at = now;
    for (let i = 0; i < 12 && (await row(id)).state === "accepted"; i++) {
      at += CREATION.claimMs + 1;
      await reconcile(testEnv, at);
    }
    const dead = await row(id);
    expect(dead.state).toBe("dead");
    expect(dead.create_attempts).toBe(10);
    expect(dead.last_error).toContain(`Unknown event: ${RETIRED} is not in this release's catalog`);
    expect(dead.last_error).toContain("no instance runs it");
    // Which steps ran is unknown: a release that can route it runs them all; one that cannot
    // reads a step it refuses to call, never "nothing left to run".
    expect(dead.remaining_steps).toBe('["(every step)"]');
    // Visible to its producer and to operators, and not replayable by a release that cannot run it.
    const status = await request(`/status/${id}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ id, name: RETIRED, status: "dead" });
    expect(await (await operator(`/failed-events/${id}`)).json()).toMatchObject({
      status: "dead",
      replayable: false,
    });
    // Dead is final for the reconciler: nothing more happens to it.
    await reconcile(testEnv, at + CREATION.claimMs + 1);
    expect((await row(id)).state).toBe("dead");
  });

  it("accepted with a stored job this release's schema refuses: dead with the field named", async () => {
    const id = uid("invalid");
    await storeEvent({
      id,
      job: { ...jobOf(id, "email/verification"), traceId: " padded " },
      state: "accepted",
      dueAt: Date.now() - 1,
      createAttempts: 10,
      at: Date.now() - DAY - 1,
    });
    await reconcile(testEnv, Date.now());
    const dead = await row(id);
    expect(dead.state).toBe("dead");
    expect(dead.last_error).toMatch(/^Stored event no longer valid: traceId: /);
  });

  it("started with no instance: left alone while young (a newer release may run it), dead at its check after a day; /status says why meanwhile", async () => {
    const young = uid("retired");
    const old = uid("retired");
    await storeEvent({ id: young, job: jobOf(young, RETIRED), state: "started", dueAt: Date.now() + 60_000 });
    await storeEvent({
      id: old,
      job: jobOf(old, RETIRED),
      state: "started",
      dueAt: Date.now() + 60_000,
      at: Date.now() - DAY - 1,
    });
    const waiting = await (await request(`/status/${old}`)).json();
    expect(waiting).toMatchObject({ status: "queued", error: { name: "UnroutableEvent" } });
    await reconcile(testEnv, Date.now() + 61_000);
    expect(await row(young)).toMatchObject({ state: "started" });
    expect(await row(old)).toMatchObject({ state: "dead" });
  });

  it("accepted whose instance runs (a release that can route it created it): started, checked later, not claimed every minute", async () => {
    const id = uid("running");
    const job = { ...jobOf(id, "email/verification"), runAt: Date.now() + 3_600_000 };
    await testEnv.EMAIL_WORKFLOW.create({ id, params: job as JobParams });
    await storeEvent({
      id,
      job: { ...job, name: RETIRED },
      state: "accepted",
      dueAt: Date.now() - 1,
      runAt: job.runAt,
    });
    await reconcile(testEnv, Date.now());
    const started = (await testEnv.DB.prepare("SELECT state, due_at FROM events WHERE id = ?1")
      .bind(id)
      .first()) as {
      state: string;
      due_at: number;
    };
    expect(started.state).toBe("started");
    expect(started.due_at).toBeGreaterThan(job.runAt);
    await (await testEnv.EMAIL_WORKFLOW.get(id)).terminate();
  });

  it("started whose instance (wherever it runs) finished every step: recorded delivered, not dead", async () => {
    const id = uid("finished");
    const job = jobOf(id, "email/verification");
    await testEnv.EMAIL_WORKFLOW.create({ id, params: job as JobParams });
    const deadline = Date.now() + 20_000;
    while (
      (await (await testEnv.EMAIL_WORKFLOW.get(id)).status()).status !== "complete" &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    // The row as a release that renamed the event would read it.
    await storeEvent({ id, job: { ...job, name: RETIRED }, state: "started", dueAt: Date.now() - 1 });
    await reconcile(testEnv, Date.now());
    expect((await row(id)).state).toBe("delivered");
    expect(await backend.calls(id)).toHaveLength(1);
  });

  it("retrying: waits on the ladder with the reason, and the dead-letter tier ends it dead", async () => {
    const id = uid("retired");
    await storeEvent({ id, job: jobOf(id, RETIRED), state: "retrying", failedAt: Date.now() });
    const result = await consume(QUEUES.recovery.name, { v: 1, eventId: id });
    expect(result.explicitAcks).toHaveLength(0);
    expect(result.retryMessages).toHaveLength(1);
    expect(await row(id)).toMatchObject({ state: "retrying" });
    expect((await row(id)).last_error).toContain(`Unknown event: ${RETIRED}`);
    const dead = await consume(QUEUES.deadLetter.name, { v: 1, eventId: id });
    expect(dead.explicitAcks).toHaveLength(1);
    const ended = await row(id);
    expect(ended.state).toBe("dead");
    expect(ended.last_error).toContain("Recovery queue exhausted its retries; last error: Unknown event");
    expect(await backend.calls(id)).toHaveLength(0);
  });

  it("dead with unknown steps, replayed once routable: runs every step in order with the event's own keys", async () => {
    const id = uid("payout");
    const job = {
      ...jobOf(id, "payment/process-payout"),
      payload: VALID_PAYLOADS["payment/process-payout"].payload,
    };
    await storeEvent({ id, job, state: "dead", failedAt: Date.now(), remainingSteps: ["(every step)"] });
    const replay = await operator(`/failed-events/${id}/replay`, { method: "POST" });
    expect(replay.status).toBe(202);
    expect((await settled(id)).status).toBe("complete");
    const calls = await backend.calls(id);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      `${id}:payment/validate-payout`,
      `${id}:payment/process-payout`,
      `${id}:payment/notify-payout-status`,
    ]);
  });
});
