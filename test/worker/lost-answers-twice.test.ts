import { createMessageBatch } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatch as dispatchBatch, StoreUnavailableError } from "../../worker/src/dispatch/dispatch.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { consumeRecovery } from "../../worker/src/recovery/consumer.ts";
import { recoveryPointer } from "../../worker/src/recovery/message.ts";
import { QUEUES } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { backend, dispatch, envelope, resetPassword, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";
import { jobOf, stateOf } from "./lost-answers-setup.ts";

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
