import type { Env } from "../../worker/src/env.ts";
import { loadEvent } from "../../worker/src/store/events.ts";
import { resetPasswordJob, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * What the worker says and does when a write or a look-up happened but its answer was lost: the
 * workflow's receipt never written, the Workflows API failing a look-up, an instance forgotten
 * past its retention. /status says what is true, the reconciler puts it right within minutes,
 * and only an instance that is truly not there is created again.
 */
export const DAY_MS = 86_400_000;

export const jobOf = resetPasswordJob;

/** An env whose Workflows API fails every look-up (not "not found": it cannot say). */
export function blind(): Env {
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
export async function receiptLost(state: "accepted" | "started"): Promise<string> {
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

export const stateOf = async (id: string) => (await loadEvent(testEnv.DB, id))?.state;
