import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { PLATFORM_FAULTS_PATH, type PlatformFaults } from "../../worker/local/faults/config.ts";
import type { PlatformFaultsState } from "../../worker/local/faults/control.ts";
import { RECONCILER } from "../../worker/src/topology.ts";
import { backend, envelope, testEnv } from "../worker/helpers.ts";

/**
 * What happens to accepted events when Cloudflare's own services fail or push back: the worker
 * runs behind the fault layer (PLATFORM_FAULTS), and every test ends with each event delivered
 * once (or dead), never lost and never answered with a per-item error for the platform's trouble.
 */
/** What the layer injected so far (setting faults starts the counts again). */
export async function injected(): Promise<PlatformFaultsState["stats"]> {
  const response = await exports.default.fetch(new Request(`https://jobs.test${PLATFORM_FAULTS_PATH}`));
  return ((await response.json()) as PlatformFaultsState).stats;
}

export async function faults(set: PlatformFaults): Promise<PlatformFaultsState> {
  const response = await exports.default.fetch(
    new Request(`https://jobs.test${PLATFORM_FAULTS_PATH}`, { method: "POST", body: JSON.stringify(set) }),
  );
  expect(response.status).toBe(200);
  return response.json();
}

/** One reconciler run, as the cron would start it, through the fault layer. */
export async function reconcile() {
  const worker = exports.default as unknown as {
    scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
  };
  await worker.scheduled({ cron: RECONCILER.cron, scheduledTime: new Date() });
}

/** The reconciler looks at rows whose time has come; tests move that time instead of waiting. */
export const makeDue = (ids: readonly string[]) =>
  testEnv.DB.prepare("UPDATE events SET due_at = 0 WHERE id IN (SELECT value FROM json_each(?1))")

    .bind(JSON.stringify(ids))

    .run();

/** Waits for an event to reach a state; returns the state it has at the end. */
export const reach = (id: string, state: string, timeoutMs?: number) =>
  until(
    () => stateOf(id),
    (s) => s === state,
    timeoutMs,
  );

/** The repair every lost-send test ends with: time passes, the reconciler runs, the event is delivered once. */
export async function reconciledToDelivered(id: string) {
  await faults({});
  await makeDue([id]);
  await reconcile();
  // An instance that was never recorded as started is first found (and recorded) by one run,
  // then repaired by the next, a check interval later.
  if ((await stateOf(id)) === "started") {
    await makeDue([id]);
    await reconcile();
  }
  expect(await reach(id, "delivered")).toBe("delivered");
  expect(await performed(id)).toBe(1);
}

/** The instance's status; "missing" until the worker has created it (after its answer). */
export const instanceOf = (id: string) => () =>
  testEnv.EMAIL_WORKFLOW.get(id)

    .then((i) => i.status())

    .then((s) => s.status as string)

    .catch(() => "missing");

export const stateOf = async (id: string) =>
  (await testEnv.DB.prepare("SELECT state FROM events WHERE id = ?1").bind(id).first<{ state: string }>())
    ?.state;

export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Backend calls that performed the event's only step, and the 2xx answers it got (what a non-deduplicating backend would have done). */
export async function performed(id: string) {
  const calls = await backend.calls(id);
  return calls.filter((c) => c.status >= 200 && c.status < 300).length;
}

export const verification = () => envelope("email/verification", { email: "a@b.c", otpCode: "1" });
