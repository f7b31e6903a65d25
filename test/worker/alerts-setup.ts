import { createScheduledController } from "cloudflare:test";
import { expect, vi } from "vitest";
import type { Fault } from "../../worker/local/backend-api.ts";
import { checkAlerts } from "../../worker/src/alerts/check.ts";
import { type AlertMessage, AlertMessageSchema } from "../../worker/src/alerts/message.ts";
import type { Env } from "../../worker/src/env.ts";
import worker from "../../worker/src/index.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { callStats } from "../../worker/src/store/backend-calls.ts";
import { CREATION, RECONCILER } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { TEST_SECRETS } from "../support/settings.ts";
import { backend, dispatch, envelope, resetPassword, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * What the alert tests share. The tests of a file share one D1 database (and the sink with every
 * other file of the project), so each alert test names its own stack and filters the sink by it,
 * sets the conditions it is not about out of reach, and starts from a check that leaves all clear.
 */

/** A threshold no test reaches: the conditions a test is not about stay clear. */
export const NEVER = "1000000000";

export const PUBLIC_URL = "https://jobs.example.com";

export const WORKFLOW_ATTEMPTS = 4;

export const payout = VALID_PAYLOADS["payment/process-payout"].payload;

export const stacks: string[] = [];

/**
 * What the alerts of this file's stacks carried, each checked for what must never leave: the
 * secrets, the webhook's URL, the backend's address. Answers how many were scanned.
 */
export async function scanSentAlerts(): Promise<number> {
  const bodies = (await backend.alerts())
    .filter((a) => stacks.includes(bodyOf(a.body)?.alert?.stack ?? ""))
    .map((a) => JSON.stringify(a.body));
  const secrets = [...TEST_SECRETS, testEnv.ALERT_WEBHOOK_URL ?? "unset", "127.0.0.1", "/control/"];
  for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
  return bodies.length;
}

export function stackEnv(overrides: Partial<Env> = {}): Env & { STACK_NAME: string } {
  const stack = uid("stack");
  stacks.push(stack);
  return {
    ...testEnv,
    STACK_NAME: stack,
    PUBLIC_URL,
    ALERT_DEAD_EVENTS: NEVER,
    ALERT_MIN_CALLS: NEVER,
    ALERT_BACKLOG: NEVER,
    ...overrides,
  };
}

/** A scheduled run as the cron makes it: reconciler, alert check, and the sweep on its schedule. */
export const scheduled = (env: Env, cron: string = RECONCILER.cron) =>
  worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron }), env);

export const bodyOf = (body: unknown) => body as { alert?: { stack?: string } } | null;

/** The alerts the sink received for one stack, checked against the message schema. */
export async function alertsOf(stack: string): Promise<AlertMessage[]> {
  return (await backend.alerts())
    .filter((a) => bodyOf(a.body)?.alert?.stack === stack)
    .map((a) => AlertMessageSchema.parse(a.body));
}

/** Work for the reconciler: an accepted event whose instance was never created, overdue. */
export async function overdueAccepted(): Promise<string> {
  const id = uid("pending");
  await storeEvent({
    id,
    job: {
      id,
      name: "email/reset-password",
      payload: resetPassword,
      traceId: `trace-${id}`,
      idempotencyKey: `key-${id}`,
      createdAt: new Date().toISOString(),
    },
    state: "accepted",
    dueAt: Date.now() - 1000,
    createAttempts: 0,
  });
  return id;
}

export async function allClear() {
  const report = await checkAlerts(stackEnv());
  expect(report.kind).toBe("checked");
  for (const outcome of Object.values(report.kind === "checked" ? report.outcomes : {}))
    expect(["quiet", "sent"]).toContain(outcome.kind);
}

/** Events the workflow records dead (a permanent 422), waited for. */
export async function deadEvents(count: number): Promise<string[]> {
  const events = Array.from({ length: count }, () => envelope("email/reset-password", resetPassword));
  for (const event of events) await backend.fault({ eventId: event.id, status: 422 });
  await dispatch(events);
  for (const event of events) await statusIs(event.id, "dead");
  return events.map((e) => e.id);
}

/** The lines the worker logged (in this isolate) while `work` ran; they are still printed. */
export async function logsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
  try {
    await work();
    return spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The alert the sink received for one stack, which must be the only one. */
export async function onlyAlert(stack: string): Promise<AlertMessage> {
  const alerts = await alertsOf(stack);
  expect(alerts).toHaveLength(1);
  return alerts[0] as AlertMessage;
}

/** Delivers an event whose backend fails as told first. */
export async function deliver(event: ReturnType<typeof envelope>, fault?: Omit<Fault, "eventId">) {
  if (fault) await backend.fault({ ...fault, eventId: event.id });
  await dispatch([event]);
  await statusIs(event.id, "complete", 30_000);
}

/**
 * The creation tail passes every row written so far (as it does a minute after each is written),
 * counting the calls of those its workflow delivered.
 */
export const passTail = () => reconcile(testEnv, Date.now() + CREATION.claimMs + 1);

/** The backend calls counted while `work` ran. */
export async function callsDuring(work: () => Promise<unknown>): Promise<{ ok: number; failed: number }> {
  const all = async () => {
    await passTail();
    return callStats(testEnv.DB, 0, Number.MAX_SAFE_INTEGER);
  };
  const before = await all();
  await work();
  const after = await all();
  return { ok: after.ok - before.ok, failed: after.failed - before.failed };
}
