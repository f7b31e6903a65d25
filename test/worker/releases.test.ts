import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobParams } from "../../worker/src/events/job.ts";
import worker from "../../worker/src/index.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { recordAccepted } from "../../worker/src/store/admission.ts";
import { CREATION, QUEUES } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { TEST_OPERATOR_TOKEN } from "../support/settings.ts";
import { backend, operator, request, settled, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * What a release meets that another release wrote: events whose name left the catalog (or that
 * a newer release admitted), rows in states it does not know, messages in formats it does not
 * read. None of them may throw, loop for ever, or be acted on as something it is not.
 */

const RETIRED = "email/retired-welcome";
const DAY = 24 * 60 * 60 * 1000;
const jobOf = (id: string, name: string) => ({
  id,
  name,
  payload: { email: "ann@example.com", otpCode: "123456" },
  traceId: `trace-${id}`,
  idempotencyKey: `key-${id}`,
  createdAt: new Date().toISOString(),
});
const row = async (id: string) =>
  (await testEnv.DB.prepare(
    "SELECT state, last_error, create_attempts, remaining_steps FROM events WHERE id = ?1",
  )
    .bind(id)
    .first()) as { state: string; last_error: string; create_attempts: number; remaining_steps: string };
const consoleSession = async () => {
  const response = await request("/console/sign-in", {
    method: "POST",
    token: null,
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://jobs.test" },
    body: new URLSearchParams({ token: TEST_OPERATOR_TOKEN }).toString(),
  });
  return (response.headers.get("set-cookie") ?? "").split(";")[0] as string;
};
const consume = async (queue: string, body: unknown, attempts = 1) => {
  const batch = createMessageBatch(queue, [{ id: uid("msg"), timestamp: new Date(), attempts, body }]);
  await worker.queue(batch, testEnv);
  return getQueueResult(batch, createExecutionContext());
};

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

describe("a retired event", () => {
  it("is refused when new, and an exact re-send of one accepted before its retirement is still accepted", async () => {
    const now = Date.now();
    const before = uid("before");
    const job = jobOf(before, "email/verification") as JobParams;
    await recordAccepted(testEnv.DB, [{ job, digest: "same" }], now);
    const fresh = { job: jobOf(uid("after"), "email/verification") as JobParams, digest: "d" };
    const recorded = await recordAccepted(
      testEnv.DB,
      [
        { job, digest: "same", retired: "Unknown event: email/verification is retired" },
        { ...fresh, retired: "Unknown event: email/verification is retired" },
      ],
      now,
    );
    expect(recorded.get(before)).toMatchObject({ kind: "duplicate" });
    expect(recorded.get(fresh.job.id)).toEqual({
      kind: "retired",
      message: "Unknown event: email/verification is retired",
    });
    expect(await row(fresh.job.id)).toBeNull();
  });
});

describe("a row in a state this release does not know", () => {
  const NEWER = "paused-by-operator";

  it("is shown as it is and left alone by /status, bulk cancel, the console, the consumer and the reconciler", async () => {
    const id = uid("newer");
    const other = uid("plain");
    const now = Date.now();
    await storeEvent({
      id,
      job: jobOf(id, "email/verification"),
      state: NEWER,
      dueAt: now - 1,
      failedAt: now,
    });
    await storeEvent({
      id: other,
      job: jobOf(other, "email/verification"),
      state: "accepted",
      runAt: now + 3_600_000,
      dueAt: now + 60_000,
    });

    const status = await request(`/status/${id}`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ status: "unknown", error: { name: "UnknownState" } });

    const cancel = await request("/events/cancel", {
      method: "POST",
      body: JSON.stringify({ ids: [id, other] }),
    });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({
      results: [
        { id, status: 409, error: `Not cancellable: the event is ${NEWER}` },
        expect.objectContaining({ id: other, status: "cancelled" }),
      ],
    });

    expect((await operator("/failed-events")).status).toBe(200);
    const cookie = await consoleSession();
    const page = await request(`/console/events/${id}`, { token: null, headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${NEWER} is a state this release does not know`);
    const overview = await request("/console", { token: null, headers: { cookie } });
    expect(await overview.text()).toContain(`${NEWER} (unknown state)`);
    expect(await (await operator(`/failed-events/${id}`)).json()).toMatchObject({ status: NEWER });

    const result = await consume(QUEUES.recovery.name, { eventId: id });
    // The pointer is kept for a release that knows the state, not acknowledged into nothing.
    expect(result.retryMessages).toHaveLength(1);
    await reconcile(testEnv, now + 3_600_000);
    expect((await row(id)).state).toBe(NEWER);
    expect(await backend.calls(id)).toHaveLength(0);
  });
});

describe("recovery messages across releases", () => {
  it("reads a pointer without a version, as releases before versions sent it", async () => {
    const id = uid("old");
    await storeEvent({
      id,
      job: jobOf(id, "email/verification"),
      state: "retrying",
      failedAt: Date.now(),
      remainingSteps: ["email/verification"],
    });
    const result = await consume(QUEUES.recovery.name, { eventId: id });
    expect(result.explicitAcks).toHaveLength(1);
    expect((await row(id)).state).toBe("delivered");
  });

  it("keeps a message in a newer format on the ladder, and the dead-letter tier keeps it visible", async () => {
    const body = { v: 2, event: { id: uid("v2") } };
    const result = await consume(QUEUES.recovery.name, body);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toHaveLength(0);
    const dead = await consume(QUEUES.deadLetter.name, body);
    expect(dead.explicitAcks).toHaveLength(1);
    const { events } = (await (await operator("/failed-events?status=dead&limit=200")).json()) as {
      events: { id: string; lastError: string }[];
    };
    expect(events.some((e) => e.lastError.includes("format version 2, newer than this release reads"))).toBe(
      true,
    );
  });
});
