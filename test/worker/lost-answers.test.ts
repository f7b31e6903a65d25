import { describe, expect, it } from "vitest";
import { eventStatus } from "../../worker/src/operations/status.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { loadEvent } from "../../worker/src/store/events.ts";
import { RECONCILER } from "../../worker/src/topology.ts";
import { backend, dispatch, envelope, resetPassword, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";
import { blind, DAY_MS, jobOf, receiptLost, stateOf } from "./lost-answers-setup.ts";

describe("/status when the row and the instance disagree", () => {
  it("says complete for an event whose instance delivered it, its receipt lost", async () => {
    const id = await receiptLost("started");
    expect((await eventStatus(testEnv, id))?.status).toBe("complete");
  });

  it("says it cannot tell, not queued, when the instance look-up fails", async () => {
    const id = uid("lookup_fails");
    await storeEvent({ id, job: jobOf(id), state: "accepted", dueAt: Date.now() + 60_000 });
    const seen = await eventStatus(blind(), id);
    expect(seen?.status).toBe("unknown");
    expect(seen?.error?.name).toBe("InstanceUnavailable");
  });

  it("answers a re-send of a delivered or dead event with its status, not queued", async () => {
    const delivered = envelope("email/reset-password", resetPassword);
    const dead = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: dead.id, status: 422 });
    await dispatch([delivered, dead]);
    await statusIs(delivered.id, "complete");
    await statusIs(dead.id, "dead");
    const again = await dispatch([delivered, dead]);
    expect(again.instances.map((i) => i.status)).toEqual(["complete", "dead"]);
  });

  it("answers a re-send of an event delivered by its instance, its receipt lost, with complete", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await dispatch([event]);
    await statusIs(event.id, "complete");
    // The receipt's write is undone: the row still says accepted.
    await testEnv.DB.prepare("UPDATE events SET state = 'accepted' WHERE id = ?1").bind(event.id).run();
    const again = await dispatch([event]);
    expect(again.instances.map((i) => i.status)).toEqual(["complete"]);
  });
});

describe("the reconciler after a lost answer", () => {
  it("records a lost receipt within minutes of the creation claim ending", async () => {
    const id = await receiptLost("accepted");
    const now = Date.now();
    // Production timings (the tests' env scales them down a thousandfold).
    const env = { ...testEnv, RETRY_DELAY_SCALE: "1" };
    // The claim ended: the reconciler finds the instance and starts checking it.
    await reconcile(env, now);
    expect(await stateOf(id)).toBe("started");
    await reconcile(env, now + RECONCILER.firstCheckAfterMs + 1000);
    expect(await stateOf(id)).toBe("delivered");
    expect(RECONCILER.firstCheckAfterMs).toBeLessThanOrEqual(5 * 60_000);
  });

  it("ends dead, never retried, an event whose permanent failure was not recorded", async () => {
    const id = uid("lost_dead_record");
    await storeEvent({ id, job: jobOf(id), state: "accepted", dueAt: Date.now() + 60_000 });
    await backend.fault({ eventId: id, status: 422, count: 1 });
    await testEnv.EMAIL_WORKFLOW.create({ id, params: jobOf(id) });
    await statusIs(id, "dead");
    // The workflow's record of it is undone: as if its write, and its retries, were lost.
    await testEnv.DB.prepare(
      "UPDATE events SET state = 'started', failed_at = NULL, due_at = ?2 WHERE id = ?1",
    )
      .bind(id, Date.now() - 1)
      .run();
    await reconcile(testEnv);
    const row = await loadEvent(testEnv.DB, id);
    expect(row?.state).toBe("dead");
    expect(row?.lastError).toMatch(/failed permanently: .*422/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await backend.calls(id)).length).toBe(1);
  });

  it("leaves an event alone when its instance look-up fails, rather than creating it again", async () => {
    const id = uid("check_blind");
    await storeEvent({ id, job: jobOf(id), state: "started", dueAt: Date.now() - 1 });
    await reconcile(blind());
    expect(await stateOf(id)).toBe("started");
  });

  it("creates again an instance that is not found within the instances' retention", async () => {
    const id = uid("check_missing");
    await storeEvent({ id, job: jobOf(id), state: "started", dueAt: Date.now() - 1 });
    await reconcile(testEnv);
    expect(await stateOf(id)).toBe("accepted");
  });

  it("ends dead, for an operator, an event whose instance is gone past the instances' retention", async () => {
    const id = uid("check_forgotten");
    const at = Date.now() - 8 * DAY_MS;
    await storeEvent({ id, job: jobOf(id), state: "started", dueAt: Date.now() - 1, at });
    await reconcile(testEnv);
    await reconcile(testEnv);
    const row = await loadEvent(testEnv.DB, id);
    expect(row?.state).toBe("dead");
    expect(row?.lastError).toMatch(/retention/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backend.calls(id)).toEqual([]);
  });
});

describe("an instance whose event the workflow tier no longer owns", () => {
  it.each(["dead", "delivered", "retrying"])("calls nothing when the row says %s", async (state) => {
    const id = uid(`owned_${state}`);
    await storeEvent({ id, job: jobOf(id), state, dueAt: null as unknown as number });
    const instance = await testEnv.EMAIL_WORKFLOW.create({ id, params: jobOf(id) });
    const deadline = Date.now() + 10_000;
    while ((await instance.status()).status !== "complete" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    expect((await instance.status()).output).toEqual({ status: "left_alone", steps: [] });
    expect(await backend.calls(id)).toEqual([]);
    expect(await stateOf(id)).toBe(state);
  });
});
