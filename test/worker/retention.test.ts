import { createScheduledController } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/src/index.ts";
import { purge } from "../../worker/src/store/retention.ts";
import { transition } from "../../worker/src/store/transitions.ts";
import { RECONCILER, RETENTION } from "../../worker/src/topology.ts";
import {
  backend,
  countingWrites,
  dispatch,
  envelope,
  request,
  settled,
  storeEvent,
  testEnv,
  uid,
} from "./helpers.ts";
import { storeDelivered } from "./recovery-setup.ts";

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
