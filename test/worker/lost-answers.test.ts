import { createMessageBatch } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatch as dispatchBatch, StoreUnavailableError } from "../../worker/src/dispatch/dispatch.ts";
import type { Env } from "../../worker/src/env.ts";
import { eventStatus } from "../../worker/src/operations/status.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { consumeRecovery } from "../../worker/src/recovery/consumer.ts";
import { recoveryPointer } from "../../worker/src/recovery/message.ts";
import { loadEvent } from "../../worker/src/store/events.ts";
import { QUEUES, RECONCILER } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import {
  backend,
  dispatch,
  envelope,
  resetPassword,
  resetPasswordJob,
  statusIs,
  storeEvent,
  testEnv,
  uid,
} from "./helpers.ts";

/**
 * What the worker says and does when a write or a look-up happened but its answer was lost: the
 * workflow's receipt never written, the Workflows API failing a look-up, an instance forgotten
 * past its retention. /status says what is true, the reconciler puts it right within minutes,
 * and only an instance that is truly not there is created again.
 */
const DAY_MS = 86_400_000;

const jobOf = resetPasswordJob;

/** An env whose Workflows API fails every look-up (not "not found": it cannot say). */
function blind(): Env {
  const real = testEnv.EMAIL_WORKFLOW;
  const binding = new Proxy(real, {
    get(target, key) {
      if (key === "get")
        return async () => {
          throw new Error("internal error: the Workflows API is unavailable");
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...testEnv, EMAIL_WORKFLOW: binding };
}

/** An event delivered by its instance whose receipt was lost: the row still says `state`. */
async function receiptLost(state: "accepted" | "started"): Promise<string> {
  const id = uid(`lost_${state}`);
  await storeEvent({ id, job: jobOf(id), state: "accepted", dueAt: Date.now() + 60_000 });
  await testEnv.EMAIL_WORKFLOW.create({ id, params: jobOf(id) });
  await statusIs(id, "complete");
  // The receipt's write is undone: as if its answer, and the write, were lost.
  await testEnv.DB.prepare("UPDATE events SET state = ?2, due_at = ?3 WHERE id = ?1")
    .bind(id, state, Date.now() - 1)
    .run();
  return id;
}

const stateOf = async (id: string) => (await loadEvent(testEnv.DB, id))?.state;

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

describe("/dispatch when the store is slow", () => {
  it("answers within its budget that the batch must be sent again, and the re-send is the same event", async () => {
    const event = envelope("email/reset-password", resetPassword);
    // A database whose batches take a second: the write happens, after the answer was due.
    const slow = new Proxy(testEnv.DB, {
      get(target, key) {
        if (key === "batch")
          return async (statements: D1PreparedStatement[]) => {
            await new Promise((r) => setTimeout(r, 1000));
            return target.batch(statements);
          };
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const started = Date.now();
    const work: Promise<unknown>[] = [];
    await expect(
      dispatchBatch({ ...testEnv, DB: slow }, [event], Date.now(), (w) => work.push(w), 300),
    ).rejects.toThrow(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(900);
    expect(work).toEqual([]); // nothing was started for a batch the producer was told to re-send

    // The write lands after all; the producer's re-send (same id, same content) is that event.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stateOf(event.id)).toBe("accepted");
    const again = await dispatch([event]);
    expect(again.ids).toEqual([event.id]);
    expect(again.errors).toBeUndefined();
    await reconcile(testEnv, Date.now() + 120_000);
    await statusIs(event.id, "complete");
    expect((await backend.calls(event.id)).filter((c) => c.performed)).toHaveLength(1);
  });
});

describe("the recovery tier when a pointer arrives twice", () => {
  const steps = ["payment/process-payout", "payment/notify-payout-status"];
  /** A payout handed over after its validation, its next delivery due `dueAt`; its next call takes `latencyMs`. */
  async function handedOver(name: string, dueAt: number, latencyMs: number) {
    const id = uid(name);
    const job = {
      ...jobOf(id),
      name: "payment/process-payout" as const,
      payload: VALID_PAYLOADS["payment/process-payout"].payload,
    };
    await storeEvent({ id, job, state: "retrying", remainingSteps: steps, dueAt, failedAt: Date.now() });
    await backend.fault({ eventId: id, path: steps[0], status: 200, latencyMs, count: 1 });
    return id;
  }

  it("runs one chain: a copy of a due pointer, or one for a delivery not due yet, calls nothing", async () => {
    // Handed over, its delivery due now: two copies of its pointer arrive (the reconciler's
    // re-send of one that was only late), and a third for a delivery due in an hour.
    const id = await handedOver("pointer_twice", Date.now() - 1, 300);
    await testEnv.RECOVERY_QUEUE.sendBatch([{ body: recoveryPointer(id) }, { body: recoveryPointer(id) }]);
    await statusIs(id, "complete");
    const calls = await backend.calls(id);
    expect(calls.map((c) => c.path)).toEqual(steps);

    const later = await handedOver("pointer_early", Date.now() + 60 * 60_000, 0);
    await testEnv.RECOVERY_QUEUE.send(recoveryPointer(later));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await backend.calls(later)).toEqual([]);
    expect(await stateOf(later)).toBe("retrying");
  });

  it("runs one chain when a copy arrives while the first chain is still calling", async () => {
    const id = await handedOver("pointer_staggered", Date.now() - 1, 1300);
    const batch = () =>
      createMessageBatch(QUEUES.recovery.name, [
        { id: uid("msg"), timestamp: new Date(), attempts: 1, body: recoveryPointer(id) },
      ]);
    const first = consumeRecovery(batch(), testEnv);
    // The copy comes 700 ms later, while the first chain waits for the backend's answer.
    await new Promise((r) => setTimeout(r, 700));
    await consumeRecovery(batch(), testEnv);
    await first;
    expect((await backend.calls(id)).map((c) => c.path)).toEqual(steps);
    expect(await stateOf(id)).toBe("delivered");
  });
});
