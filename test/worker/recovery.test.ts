import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/src/index.ts";
import { recoveryDelay } from "../../worker/src/recovery/delay.ts";
import { purge } from "../../worker/src/store/retention.ts";
import { transition } from "../../worker/src/store/transitions.ts";
import { QUEUES, RECONCILER, RETENTION } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { TEST_RECOVERY_MAX_RETRIES } from "../support/settings.ts";
import {
  backend,
  countingWrites,
  dispatch,
  envelope,
  operator,
  request,
  resetPassword,
  settled,
  storeEvent,
  testEnv,
  uid,
} from "./helpers.ts";

interface FailedEvent {
  id: string;
  status: string;
  failedStep: string | null;
  remainingSteps: string[];
  lastError: string;
  replayable: boolean;
  history: { tier: string; step: string | null; outcome: string }[];
}

const failed = async (id: string): Promise<FailedEvent | undefined> => {
  const response = await operator(`/failed-events/${id}`);
  return response.status === 200 ? ((await response.json()) as FailedEvent) : undefined;
};

/** Waits until the failed-event record reaches `status`. */
async function until(id: string, status: string, timeoutMs = 20_000): Promise<FailedEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const event = await failed(id);
    if (event?.status === status) return event;
    if (Date.now() > deadline) throw new Error(`${id} is ${event?.status ?? "absent"}, not ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const WORKFLOW_ATTEMPTS = 4;
const payout = VALID_PAYLOADS["payment/process-payout"].payload;

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

describe("operator API", () => {
  /** Dead events for one tenant, made quickly with a permanent failure. */
  async function deadEvents(tenant: string, count: number, name = "email/reset-password") {
    const events = Array.from({ length: count }, () =>
      envelope(name, { ...resetPassword, tenantId: tenant }),
    );
    for (const e of events) await backend.fault({ eventId: e.id, status: 422, count: 1 });
    await dispatch(events);
    for (const e of events) await until(e.id, "dead");
    return events;
  }

  it("lists with filters, the queue names, and cursor pagination", async () => {
    const tenant = uid("tenant");
    const events = await deadEvents(tenant, 5);
    const first = await (await operator(`/failed-events?tenant=${tenant}&status=dead&limit=2`)).json();
    expect(first).toMatchObject({
      info: expect.stringContaining("replay"),
      queues: { retry: QUEUES.recovery.name, deadLetter: QUEUES.deadLetter.name },
      retryQueue: QUEUES.recovery.name,
      deadLetterQueue: QUEUES.deadLetter.name,
    });
    const seen: string[] = [];
    let page = first as { events: FailedEvent[]; nextCursor?: string };
    for (;;) {
      seen.push(...page.events.map((e) => e.id));
      if (!page.nextCursor) break;
      page = await (
        await operator(`/failed-events?tenant=${tenant}&limit=2&cursor=${page.nextCursor}`)
      ).json();
    }
    expect(seen.sort()).toEqual(events.map((e) => e.id).sort());
    const none = await (await operator(`/failed-events?tenant=${tenant}&status=delivered`)).json();
    expect((none as { events: unknown[] }).events).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    const later = await (await operator(`/failed-events?tenant=${tenant}&from=${future}`)).json();
    expect((later as { events: unknown[] }).events).toEqual([]);
    const before = await (
      await operator(`/failed-events?tenant=${tenant}&to=${future}&name=email/reset-password`)
    ).json();
    expect((before as { events: unknown[] }).events).toHaveLength(5);
  });

  it("inspects one event with its payload and history", async () => {
    const [event] = await deadEvents(uid("tenant"), 1);
    const body = (await (await operator(`/failed-events/${event?.id}`)).json()) as FailedEvent & {
      event: unknown;
    };
    expect(body.event).toMatchObject({
      id: event?.id,
      name: "email/reset-password",
      // The code is masked for operators (operator-access.test.ts: a replay sends the original).
      payload: { ...event?.payload, otpCode: "••••••" },
    });
    expect(body.history).toEqual([expect.objectContaining({ tier: "workflow", outcome: "dead" })]);
  });

  it("bulk-replays by filter, with a dry run that changes nothing", async () => {
    const tenant = uid("tenant");
    const events = await deadEvents(tenant, 3);
    const ids = events.map((e) => e.id).sort();
    const replay = (body: unknown) =>
      operator("/failed-events/replay", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });

    const dry = (await (await replay({ tenant, dryRun: true })).json()) as { matched: number; ids: string[] };
    expect({ ...dry, ids: dry.ids.sort() }).toEqual({ dryRun: true, matched: 3, ids });
    for (const id of ids) expect((await failed(id))?.status).toBe("dead");

    const real = await replay({ tenant });
    expect(real.status).toBe(202);
    for (const id of ids) await until(id, "delivered");
    for (const id of ids) expect((await backend.calls(id)).map((c) => c.status)).toEqual([422, 200]);
  });

  it("discards an event, which stays visible as discarded", async () => {
    const [event] = await deadEvents(uid("tenant"), 1);
    const response = await operator(`/failed-events/${event?.id}`, { method: "DELETE" });
    expect(await response.json()).toEqual({ id: event?.id, status: "discarded" });
    expect((await failed(event?.id as string))?.status).toBe("discarded");
    expect((await operator(`/failed-events/${event?.id}/replay`, { method: "POST" })).status).toBe(409);
  });

  it("does not replay an event that is still retrying (its own retries are under way)", async () => {
    const id = uid("retrying");
    const job = {
      id,
      name: "email/verification",
      payload: { email: "a@b.c", otpCode: "1" },
      traceId: "t",
      idempotencyKey: "k",
      createdAt: "2026-11-21T00:00:00Z",
    };
    await storeEvent({
      id,
      job,
      state: "retrying",
      failedAt: Date.now(),
      remainingSteps: ["email/verification"],
    });
    expect((await failed(id))?.replayable).toBe(false);
    const response = await operator(`/failed-events/${id}/replay`, { method: "POST" });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toBe(
      "Not replayable: the event is retrying",
    );
  });

  it("answers 404, 400 and 401 where it should", async () => {
    expect((await operator(`/failed-events/${uid()}`)).status).toBe(404);
    expect((await operator(`/failed-events/${uid()}/replay`, { method: "POST" })).status).toBe(404);
    expect((await operator(`/failed-events/${uid()}`, { method: "DELETE" })).status).toBe(404);
    expect((await operator("/failed-events?status=lost")).status).toBe(400);
    expect((await operator("/failed-events?cursor=%%%")).status).toBe(400);
    expect((await operator("/failed-events?limit=0")).status).toBe(400);
    expect((await operator("/failed-events", { token: null })).status).toBe(401);
    expect((await operator(`/failed-events/${uid()}`, { token: null })).status).toBe(401);
  });
});

/** `count` delivered one-step events `<prefix>_<n>`, written at `at`, in one statement. */
const storeDelivered = (prefix: string, count: number, at: number) =>
  testEnv.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     INSERT INTO events (id, name, digest, trace_id, job, state, created_at, updated_at)
     SELECT ?1 || '_' || i, 'email/verification', 'd', 't', '{}', 'delivered', ?2, ?2 FROM n`,
  )
    .bind(prefix, at, count)
    .run();

describe("retention", () => {
  /**
   * The walks read rows in the order they were written; rows the earlier tests wrote just now
   * would hold them up (a production table is written in time order): start them after those.
   */
  const walkFromHere = () =>
    testEnv.DB.prepare(
      "UPDATE cursors SET position = (SELECT COALESCE(MAX(rowid), 0) FROM events) WHERE name IN ('retention', 'tombstones')",
    ).run();

  it("compacts final events (delivered, discarded, cancelled) after retention, deletes them a month later, and keeps dead ones", async () => {
    await walkFromHere();
    const day = 86_400_000;
    const old = Date.now() - 8 * day;
    const ids = {
      delivered: uid("old"),
      discarded: uid("old"),
      cancelled: uid("old"),
      retrying: uid("old"),
      dead: uid("old"),
      scheduled: uid("old"),
      ancient: uid("old"),
      recent: uid("new"),
    };
    const job = (id: string) => ({ id, name: "email/verification" });
    // In the order they would have been written: the oldest first.
    await storeEvent({ id: ids.ancient, job: null, state: "delivered", at: Date.now() - 40 * day });
    await storeEvent({ id: ids.delivered, job: job(ids.delivered), state: "delivered", at: old });
    await storeEvent({ id: ids.discarded, job: job(ids.discarded), state: "discarded", at: old });
    await storeEvent({ id: ids.cancelled, job: job(ids.cancelled), state: "cancelled", at: old });
    await storeEvent({ id: ids.retrying, job: job(ids.retrying), state: "retrying", at: old });
    await storeEvent({ id: ids.dead, job: job(ids.dead), state: "dead", at: old });
    await storeEvent({
      id: ids.scheduled,
      job: job(ids.scheduled),
      state: "delivered",
      at: old,
      runAt: Date.now(),
    });
    await storeEvent({ id: ids.recent, job: job(ids.recent), state: "delivered", at: Date.now() });
    await testEnv.DB.prepare(
      "INSERT INTO event_history (event_id, at, tier, outcome) VALUES (?1, ?2, 'queue', 'done')",
    )
      .bind(ids.delivered, old)
      .run();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: RETENTION.cron }),
      testEnv,
    );
    const row = (id: string) =>
      testEnv.DB.prepare("SELECT job, state FROM events WHERE id = ?1")
        .bind(id)
        .first<{ job: string | null }>();
    expect(await row(ids.delivered)).toEqual({ job: null, state: "delivered" });
    expect(await row(ids.discarded)).toEqual({ job: null, state: "discarded" });
    expect(await row(ids.cancelled)).toEqual({ job: null, state: "cancelled" });
    expect((await row(ids.retrying))?.job).not.toBeNull();
    expect((await row(ids.dead))?.job).not.toBeNull();
    expect((await row(ids.scheduled))?.job).not.toBeNull();
    expect((await row(ids.recent))?.job).not.toBeNull();
    expect(await row(ids.ancient)).toBeNull();
    const history = await testEnv.DB.prepare("SELECT count(*) AS n FROM event_history WHERE event_id = ?1")
      .bind(ids.delivered)
      .first<{ n: number }>();
    expect(history?.n).toBe(0);
  });

  it("sweeps in bounded chunks until nothing old is left", async () => {
    await walkFromHere();
    const prefix = uid("bulk");
    const old = Date.now() - 8 * 86_400_000;
    await request("/status/schema-probe");
    // 1,250 settled rows: more than one of the sweep's 1,000-row chunks.
    await storeDelivered(prefix, 1250, old);
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: RETENTION.cron }),
      testEnv,
    );
    const left = await testEnv.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE id LIKE ?1 AND job IS NOT NULL",
    )
      .bind(`${prefix}_%`)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("compacts an event that settles after the walk passed it, a retention after it settled, and never deletes the newest row", async () => {
    await walkFromHere();
    const day = 86_400_000;
    const keep = 7 * day;
    const now = Date.now();
    const late = uid("late");
    const newest = uid("newest");
    // Written 8 days ago and still running when the walk comes to it.
    await storeEvent({
      id: late,
      job: { id: late, name: "email/verification" },
      state: "accepted",
      at: now - 8 * day,
      dueAt: now + day,
    });
    await purge(testEnv.DB, now, keep);
    const row = () =>
      testEnv.DB.prepare("SELECT job IS NOT NULL AS live, due_at FROM events WHERE id = ?1")
        .bind(late)
        .first<{ live: number; due_at: number | null }>();
    expect(await row()).toMatchObject({ live: 1 });
    // It settles now: its compaction is scheduled a retention from now, and happens then.
    expect(
      await transition(testEnv.DB, late, { name: "cancel", by: "producer", changes: { dueAt: null }, now }),
    ).toBe(true);
    expect((await row())?.due_at).toBe(now + keep);
    await purge(testEnv.DB, now + keep - 1, keep);
    expect((await row())?.live).toBe(1);
    await purge(testEnv.DB, now + keep + 1, keep);
    expect((await row())?.live).toBe(0);
    // And a month after that it is deleted, unless it is the newest row (ids must never be reused).
    await storeEvent({ id: newest, job: null, state: "delivered", at: now - 60 * day });
    await purge(testEnv.DB, now + keep + 40 * day, keep);
    expect(await row()).toBeNull();
    const kept = await testEnv.DB.prepare("SELECT id FROM events WHERE id = ?1").bind(newest).first();
    expect(kept).not.toBeNull();
  });

  it("writes one row per event to compact it and one to delete it, beyond a few per sweep", async () => {
    await walkFromHere();
    const day = 86_400_000;
    const keep = 7 * day;
    const now = Date.now();
    const prefix = uid("lifetime");
    // 200 one-step events delivered at once, as the happy path leaves them (no due time).
    await storeDelivered(prefix, 200, now);
    await storeEvent({ id: uid("newest"), job: null, state: "delivered", at: now });
    const left = async (live: boolean) =>
      (
        await testEnv.DB.prepare(
          `SELECT count(*) AS n FROM events WHERE id LIKE ?1 AND job IS ${live ? "NOT NULL" : "NULL"}`,
        )
          .bind(`${prefix}_%`)
          .first<{ n: number }>()
      )?.n;
    const compacting = countingWrites();
    await purge(compacting.db, now + keep + 2 * 3_600_000, keep);
    expect(await left(true)).toBe(0);
    const deleting = countingWrites();
    await purge(deleting.db, now + keep + 32 * day, keep);
    expect(await left(false)).toBe(0);
    const [compaction, deletion] = [compacting.written(), deleting.written()];
    // A few rows per sweep (the walks' cursors), then one per event.
    expect(compaction).toBeGreaterThanOrEqual(200);
    expect(compaction).toBeLessThanOrEqual(200 + 5);
    expect(deletion).toBeGreaterThanOrEqual(200);
    expect(deletion).toBeLessThanOrEqual(200 + 5);
  });

  it("sweeps on every minute's run, not only on the retention schedule", async () => {
    await walkFromHere();
    const prefix = uid("minutely");
    await storeDelivered(prefix, 3, Date.now() - 8 * 86_400_000);
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: RECONCILER.cron }),
      testEnv,
    );
    const left = await testEnv.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE id LIKE ?1 AND job IS NOT NULL",
    )
      .bind(`${prefix}_%`)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("recognises a re-send of a compacted event instead of running it again", async () => {
    const event = envelope("email/verification", { email: "a@b.c", otpCode: "1" });
    await dispatch([event]);
    await settled(event.id);
    await testEnv.DB.prepare("UPDATE events SET job = NULL, updated_at = 0 WHERE id = ?1")
      .bind(event.id)
      .run();
    expect((await dispatch([event])).ids).toEqual([event.id]);
    const conflicting = { ...event, payload: { email: "b@b.c", otpCode: "2" } };
    expect((await dispatch([conflicting])).errors?.[0]?.error).toMatch(/^Conflicting duplicate id/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backend.calls(event.id)).toHaveLength(1);
  });
});
