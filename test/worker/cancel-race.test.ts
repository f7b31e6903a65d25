import { describe, expect, it } from "vitest";
import { createInstances } from "../../worker/src/dispatch/creation.ts";
import type { Env } from "../../worker/src/env.ts";
import { instanceStatus } from "../../worker/src/instances/status.ts";
import { cancelEvents } from "../../worker/src/operations/cancel.ts";
import { loadEvent } from "../../worker/src/store/events.ts";
import {
  backend,
  dispatch,
  envelope,
  request,
  resetPassword,
  resetPasswordJob,
  type Status,
  storeEvent,
  testEnv,
  uid,
} from "./helpers.ts";

/**
 * A cancel acknowledged before an instance exists, racing its creation: once the answer says
 * no further step will run, no backend step starts, whatever else fails. The windows are made
 * to happen, not hoped for: the Workflow binding cancels between the creator's last look and
 * its createBatch call, and the creator's look after creation fails.
 */
const oneStep = resetPasswordJob;

type Binding = Env["EMAIL_WORKFLOW"];

/**
 * The env the creator sees: createBatch runs `before` first; `get` may fail as the platform's
 * can, and D1 may fail from the moment the instances exist (the creator's look after creation).
 */
function racing(before: () => Promise<void>, { getFails = false, d1FailsAfterCreate = false } = {}): Env {
  const real = testEnv.EMAIL_WORKFLOW;
  let created = false;
  const db = new Proxy(testEnv.DB, {
    get(target, key) {
      if (key === "prepare" && created && d1FailsAfterCreate)
        return () => {
          throw new Error("D1_ERROR: Network connection lost.");
        };
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const binding = {
    createBatch: async (batch: Parameters<Binding["createBatch"]>[0]) => {
      await before();
      const result = await real.createBatch(batch);
      created = true;
      return result;
    },
    create: real.create.bind(real),
    get: async (id: string) => {
      if (getFails) throw new Error("internal error: the Workflows API is unavailable");
      return real.get(id);
    },
  } as unknown as Binding;
  return { ...testEnv, DB: db, EMAIL_WORKFLOW: binding };
}

const status = async (id: string) => (await (await request(`/status/${id}`)).json()) as Status;

/** Waits until the real instance has finished, then a little longer for any late call. */
async function finished(id: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const instance = await instanceStatus(testEnv, id, "email/reset-password");
    if (instance && ["complete", "errored", "terminated"].includes(instance.status)) return instance;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`instance ${id} did not finish`);
}

describe("a cancel acknowledged while the instance is being created", () => {
  it("runs no backend step, even when the creator's look after creation fails", async () => {
    const id = uid("race_window");
    await storeEvent({ id, job: oneStep(id), state: "accepted", dueAt: Date.now() + 60_000 });
    let acknowledged: Awaited<ReturnType<typeof cancelEvents>> = [];
    const env = racing(
      async () => {
        acknowledged = await cancelEvents(testEnv, [id]);
      },
      { getFails: true },
    );
    const report = await createInstances(env, [oneStep(id)], "dispatch", {
      claimedUntil: Date.now() + 60_000,
    });
    expect(acknowledged).toEqual([{ kind: "cancelled", id }]);
    expect(report.started).toEqual([id]);

    const instance = await finished(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backend.calls(id)).toEqual([]);
    // /status and the instance's output agree: cancelled, nothing performed.
    expect((await loadEvent(testEnv.DB, id))?.state).toBe("cancelled");
    const seen = await status(id);
    expect(seen.status).toBe("cancelled");
    expect(instance.output).toMatchObject({ status: "cancelled", steps: [] });
    expect((seen as { output?: { status?: string } }).output?.status).not.toBe("delivered");
  });

  it("runs no backend step when the cancel could not look the instance up and the creator's look fails in D1", async () => {
    const id = uid("race_lookup");
    await storeEvent({ id, job: oneStep(id), state: "accepted", dueAt: Date.now() + 60_000 });
    // The cancel's instance look-up fails (the platform cannot say), so it terminates nothing;
    // the creator's look for cancels after creation fails in D1, so it terminates nothing either.
    const blind = racing(async () => {}, { getFails: true });
    const env = racing(
      async () => {
        expect(await cancelEvents(blind, [id])).toEqual([{ kind: "cancelled", id }]);
      },
      { d1FailsAfterCreate: true },
    );
    await createInstances(env, [oneStep(id)], "dispatch", { claimedUntil: Date.now() + 60_000 });
    await finished(id);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backend.calls(id)).toEqual([]);
    expect((await status(id)).status).toBe("cancelled");
  });

  it("lets a step already under way finish, and /status never contradicts the cancel", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: event.id, status: 200, latencyMs: 700, count: 1 });
    await dispatch([event]);
    // The call is under way (the backend holds its answer) when the cancel is acknowledged.
    const deadline = Date.now() + 10_000;
    while ((await backend.calls(event.id)).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    // Its look-up fails, so the cancel does not stop the instance: the call's answer comes back to it.
    const blind = racing(async () => {}, { getFails: true });
    expect(await cancelEvents(blind, [event.id])).toMatchObject([{ kind: "cancelled" }]);

    const instance = await finished(event.id);
    expect((await backend.waitForCalls(event.id, 1)).map((c) => c.status)).toEqual([200]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backend.calls(event.id)).toHaveLength(1);
    const seen = (await status(event.id)) as Status & { output?: { status: string } };
    expect(seen.status).toBe("cancelled");
    // Its delivery receipt was refused: the output says cancelled too, with the step it performed.
    const output = { status: "cancelled", steps: [{ step: "email/reset-password", status: 200 }] };
    expect(instance.output).toEqual(output);
    expect(seen.output).toEqual(output);
  });
});

describe("a cancel that lands after the last call, its receipt not written", () => {
  it("ends the instance cancelled with the step it performed, never delivered beside a cancelled row", async () => {
    const event = envelope("email/reset-password", resetPassword);
    // The receipt's write fails for this event (D1 refuses it) until the cancel has landed.
    const trigger = `fail_receipt_${event.id.replace(/\W/g, "_")}`;
    await testEnv.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE OF state ON events
       WHEN OLD.id = '${event.id}' AND NEW.state = 'delivered'
       BEGIN SELECT RAISE(ABORT, 'D1_ERROR: Network connection lost.'); END`,
    ).run();
    try {
      await dispatch([event]);
      const [call] = await backend.waitForCalls(event.id, 1);
      expect(call?.status).toBe(200);
      // The instance could not be looked up, so the cancel lands on the row alone.
      const blind = racing(async () => {}, { getFails: true });
      expect(await cancelEvents(blind, [event.id])).toMatchObject([{ kind: "cancelled" }]);
    } finally {
      await testEnv.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    const instance = await finished(event.id);
    const output = { status: "cancelled", steps: [{ step: "email/reset-password", status: 200 }] };
    expect(instance.output).toEqual(output);
    const seen = (await status(event.id)) as Status & { output?: unknown };
    expect(seen.status).toBe("cancelled");
    expect(seen.output).toEqual(output);
    expect(await backend.calls(event.id)).toHaveLength(1);
  });
});

describe("two cancels of one event at once", () => {
  it("both answer cancelled: the one that lost the race reads the row again", async () => {
    const id = uid("race_two_cancels");
    await storeEvent({ id, job: oneStep(id), state: "accepted", dueAt: Date.now() + 60_000 });
    // Between this cancel's read of the row and its update, another (its own re-send, whose
    // first answer was lost) cancels the event.
    let raced = false;
    const db = new Proxy(testEnv.DB, {
      get(target, key) {
        if (key === "batch")
          return async (statements: D1PreparedStatement[]) => {
            if (!raced) {
              raced = true;
              expect(await cancelEvents(testEnv, [id])).toEqual([{ kind: "cancelled", id }]);
            }
            return target.batch(statements);
          };
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    expect(await cancelEvents({ ...testEnv, DB: db }, [id])).toEqual([{ kind: "cancelled", id }]);
    expect(raced).toBe(true);
  });
});
