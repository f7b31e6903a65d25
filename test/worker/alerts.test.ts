import { createScheduledController } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Fault } from "../../worker/local/backend-api.ts";
import { type AlertsReport, checkAlerts } from "../../worker/src/alerts/check.ts";
import { decide } from "../../worker/src/alerts/decide.ts";
import { type AlertMessage, AlertMessageSchema } from "../../worker/src/alerts/message.ts";
import type { Env } from "../../worker/src/env.ts";
import worker from "../../worker/src/index.ts";
import { reconcile } from "../../worker/src/reconciler/run.ts";
import { type CallCounts, callStats, minuteOf, recentCalls } from "../../worker/src/store/backend-calls.ts";
import { transition } from "../../worker/src/store/transitions.ts";
import { ALERTS, CREATION, RECONCILER, RETENTION } from "../../worker/src/topology.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { TEST_SECRETS } from "../support/settings.ts";
import { backend, dispatch, envelope, resetPassword, statusIs, storeEvent, testEnv, uid } from "./helpers.ts";

/**
 * The tests of this file share one D1 database (and the sink with every other file of the
 * project), so each alert test names its own stack and filters the sink by it, sets the
 * conditions it is not about out of reach, and starts from a check that leaves all clear.
 */
const NEVER = "1000000000";
const PUBLIC_URL = "https://jobs.example.com";
const WORKFLOW_ATTEMPTS = 4;
const payout = VALID_PAYLOADS["payment/process-payout"].payload;
const stacks: string[] = [];

function stackEnv(overrides: Partial<Env> = {}): Env & { STACK_NAME: string } {
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
const scheduled = (env: Env, cron: string = RECONCILER.cron) =>
  worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron }), env);

const bodyOf = (body: unknown) => body as { alert?: { stack?: string } } | null;

/** The alerts the sink received for one stack, checked against the message schema. */
async function alertsOf(stack: string): Promise<AlertMessage[]> {
  return (await backend.alerts())
    .filter((a) => bodyOf(a.body)?.alert?.stack === stack)
    .map((a) => AlertMessageSchema.parse(a.body));
}

/** Work for the reconciler: an accepted event whose instance was never created, overdue. */
async function overdueAccepted(): Promise<string> {
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

async function allClear() {
  const report = await checkAlerts(stackEnv());
  expect(report.kind).toBe("checked");
  for (const outcome of Object.values(report.kind === "checked" ? report.outcomes : {}))
    expect(["quiet", "sent"]).toContain(outcome.kind);
}

/** Events the workflow records dead (a permanent 422), waited for. */
async function deadEvents(count: number): Promise<string[]> {
  const events = Array.from({ length: count }, () => envelope("email/reset-password", resetPassword));
  for (const event of events) await backend.fault({ eventId: event.id, status: 422 });
  await dispatch(events);
  for (const event of events) await statusIs(event.id, "dead");
  return events.map((e) => e.id);
}

/** The lines the worker logged (in this isolate) while `work` ran; they are still printed. */
async function logsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
  try {
    await work();
    return spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The alert the sink received for one stack, which must be the only one. */
async function onlyAlert(stack: string): Promise<AlertMessage> {
  const alerts = await alertsOf(stack);
  expect(alerts).toHaveLength(1);
  return alerts[0] as AlertMessage;
}

/** Delivers an event whose backend fails as told first. */
async function deliver(event: ReturnType<typeof envelope>, fault?: Omit<Fault, "eventId">) {
  if (fault) await backend.fault({ ...fault, eventId: event.id });
  await dispatch([event]);
  await statusIs(event.id, "complete", 30_000);
}

/**
 * The creation tail passes every row written so far (as it does a minute after each is written),
 * counting the calls of those its workflow delivered.
 */
const passTail = () => reconcile(testEnv, Date.now() + CREATION.claimMs + 1);

/** The backend calls counted while `work` ran. */
async function callsDuring(work: () => Promise<unknown>): Promise<{ ok: number; failed: number }> {
  const all = async () => {
    await passTail();
    return callStats(testEnv.DB, 0, Number.MAX_SAFE_INTEGER);
  };
  const before = await all();
  await work();
  const after = await all();
  return { ok: after.ok - before.ok, failed: after.failed - before.failed };
}

describe("backend call accounting", () => {
  it("counts a delivered event's steps as ok calls and each injected 503 as a failed one", async () => {
    const event = envelope("payment/process-payout", payout);
    const fault = { path: "payment/process-payout", status: 503, count: 2 };
    expect(await callsDuring(() => deliver(event, fault))).toEqual({ ok: 3, failed: 2 });
  });

  it("counts a delivery once, whether the tail passes its row before or after its receipt", async () => {
    // Still calling when the tail passes it: the receipt counts its calls.
    const slow = envelope("payment/process-payout", payout);
    const early = await callsDuring(async () => {
      await backend.fault({
        eventId: slow.id,
        path: "payment/notify-payout-status",
        status: 200,
        latencyMs: 800,
        count: 1,
      });
      await dispatch([slow]);
      await backend.waitForCalls(slow.id, 3);
      await passTail();
      await statusIs(slow.id, "complete");
    });
    expect(early).toEqual({ ok: 3, failed: 0 });
    // Delivered before the tail passes it: the tail counts them.
    const fast = envelope("payment/process-payout", payout);
    expect(await callsDuring(() => deliver(fast))).toEqual({ ok: 3, failed: 0 });
  });

  it("counts the calls of an event the recovery queue finished: steps before the hand-over, then each step", async () => {
    const event = envelope("payment/process-payout", payout);
    const fault = { path: "payment/process-payout", status: 503, count: WORKFLOW_ATTEMPTS + 1 };
    // validate (before the hand-over), process and notify (recovery): 3 ok; 4 + 1 failed.
    expect(await callsDuring(() => deliver(event, fault))).toEqual({ ok: 3, failed: WORKFLOW_ATTEMPTS + 1 });
  });

  it("counts calls only with a transition that applied, in the batch that records it", async () => {
    const delivered = uid("acct");
    const retrying = uid("acct");
    const job = (id: string) => ({ id, name: "email/verification" });
    await storeEvent({ id: delivered, job: job(delivered), state: "delivered" });
    await storeEvent({ id: retrying, job: job(retrying), state: "retrying", dueAt: Date.now() + 3_600_000 });
    const history = { outcome: "done" };
    const apply = (id: string, calls: CallCounts, note: typeof history | null) =>
      transition(testEnv.DB, id, {
        name: "retry",
        by: "recovery",
        changes: { calls },
        ...(note ? { note } : {}),
      });
    // Not from `delivered`: neither the update, nor its history, nor its calls.
    expect(
      await callsDuring(async () => {
        expect(await apply(delivered, { ok: 5 }, history)).toBe(false);
        expect(await apply(delivered, { ok: 3 }, null)).toBe(false);
      }),
    ).toEqual({ ok: 0, failed: 0 });
    // Applied, with and without a history row before the count.
    expect(
      await callsDuring(async () => {
        expect(await apply(retrying, { ok: 2 }, history)).toBe(true);
        expect(await apply(retrying, { ok: 1, failed: 1 }, null)).toBe(true);
      }),
    ).toEqual({ ok: 3, failed: 1 });
  });

  it("measures the failure rate only up to the creation tail's reach, where the successes are counted too", async () => {
    await passTail();
    const now = Date.now();
    // An event written now, not passed by the tail yet: its minute's successes are not counted,
    // so neither are the failures counted in it (the rate would read high).
    const id = uid("unpassed");
    await storeEvent({ id, job: { id, name: "email/verification" }, state: "delivered", at: now });
    await testEnv.DB.prepare(
      "INSERT INTO backend_calls (minute, ok, failed) VALUES (?1, 0, 5) ON CONFLICT (minute) DO UPDATE SET failed = failed + 5",
    )
      .bind(minuteOf(now))
      .run();
    const held = await recentCalls(testEnv.DB, ALERTS.windowMs, now);
    expect(held.until).toBe(now);
    // The window stops before this minute: its 5 failures (and any earlier ones) wait.
    const withMinute = await callStats(testEnv.DB, now - ALERTS.windowMs, now + 60_000);
    expect(held.failed).toBeLessThanOrEqual(withMinute.failed - 5);
    // Once the tail has passed the event, that minute counts, with the event's success.
    await passTail();
    const counted = await recentCalls(testEnv.DB, ALERTS.windowMs, Date.now());
    expect(counted.failed).toBeGreaterThanOrEqual(held.failed + 5);
    expect(counted.ok).toBeGreaterThanOrEqual(held.ok + 1);
  });

  it("reports the calls of a window, and retention forgets minutes older than RETENTION_DAYS", async () => {
    const now = Date.now();
    const old = now - 8 * 86_400_000;
    const stale = now - ALERTS.windowMs - 5 * 60_000;
    const inWindow = await recentCalls(testEnv.DB, ALERTS.windowMs, now);
    const insert = (at: number, ok: number, failed: number) =>
      testEnv.DB.prepare("INSERT INTO backend_calls (minute, ok, failed) VALUES (?1, ?2, ?3)")
        .bind(minuteOf(at), ok, failed)
        .run();
    await insert(old, 40, 40);
    await insert(stale, 7, 7);
    expect(await recentCalls(testEnv.DB, ALERTS.windowMs, now)).toEqual(inWindow);
    await scheduled(stackEnv(), RETENTION.cron);
    const minute = (at: number) =>
      testEnv.DB.prepare("SELECT ok FROM backend_calls WHERE minute = ?1").bind(minuteOf(at)).first();
    expect(await minute(old)).toBeNull();
    expect(await minute(stale)).toEqual({ ok: 7 });
  });
});

describe("alerts", () => {
  it("sends one alert when events go dead, with Slack text and the same facts as fields, then one resolved", async () => {
    await allClear();
    const env = stackEnv({ ALERT_DEAD_EVENTS: "2" });
    await deadEvents(2);
    await scheduled(env);
    const firing = await onlyAlert(env.STACK_NAME);
    expect(firing.alert).toMatchObject({
      condition: "dead-events",
      status: "firing",
      stack: env.STACK_NAME,
      deadEvents: 2,
      threshold: 2,
      consoleUrl: `${PUBLIC_URL}/console/failed?status=dead`,
    });
    expect(firing.text).toBe(
      `FIRING [${env.STACK_NAME}] Dead events: 2 new dead events since the last check (alert at 2). <${PUBLIC_URL}/console/failed?status=dead|Open the console>`,
    );

    await scheduled(env);
    await scheduled(env);
    const alerts = await alertsOf(env.STACK_NAME);
    expect(alerts.map((a) => a.alert.status)).toEqual(["firing", "resolved"]);
    expect(alerts[1]?.alert).toMatchObject({ condition: "dead-events", deadEvents: 0 });
    expect(alerts[1]?.text).toMatch(/^RESOLVED \[.*\] Dead events: no new dead events since the last check/);
  });

  it("alerts on events that died between the deploy and the first check, not on those from before it", async () => {
    await deadEvents(2);
    // The deploy: the version metadata's upload time. Then events die before any check ran.
    const deployedAt = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    await deadEvents(3);
    // A stack that never checked alerts: no alert state yet.
    await testEnv.DB.prepare("DELETE FROM alert_state").run();
    const env = stackEnv({
      ALERT_DEAD_EVENTS: "3",
      CF_VERSION_METADATA: { id: uid("version"), tag: "", timestamp: new Date(deployedAt).toISOString() },
    });
    await scheduled(env);
    const firing = await onlyAlert(env.STACK_NAME);
    expect(firing.alert).toMatchObject({ condition: "dead-events", status: "firing", deadEvents: 3 });
  });

  it("alerts on the backend failure rate only with at least ALERT_MIN_CALLS calls, then resolves", async () => {
    await allClear();
    // Calls that fail: three 503s before the event is delivered.
    await deliver(envelope("email/reset-password", resetPassword), { status: 503, count: 3 });
    await passTail();
    const { ok, failed } = await recentCalls(testEnv.DB, ALERTS.windowMs, Date.now());
    const calls = ok + failed;
    const rate = failed / calls;
    expect(failed).toBeGreaterThanOrEqual(3);
    const at = (minCalls: number, threshold: number) =>
      stackEnv({ ALERT_MIN_CALLS: String(minCalls), ALERT_FAILURE_RATE: String(threshold) });

    const tooFew = at(calls + 1, 0.01);
    await scheduled(tooFew);
    expect(await alertsOf(tooFew.STACK_NAME)).toEqual([]);

    const below = at(calls, Math.min(1, rate + 0.01));
    await scheduled(below);
    expect(await alertsOf(below.STACK_NAME)).toEqual([]);

    const failing = at(calls, rate);
    await scheduled(failing);
    const alert = await onlyAlert(failing.STACK_NAME);
    expect(alert.alert).toMatchObject({
      condition: "failure-rate",
      status: "firing",
      windowMinutes: 15,
      calls,
      failed,
      failureRate: rate,
      minCalls: calls,
      consoleUrl: `${PUBLIC_URL}/console`,
    });
    expect(alert.text).toContain(`${failed} of ${calls} backend calls failed in the last 15 minutes`);

    const recovered = stackEnv();
    await scheduled(recovered);
    expect(
      (await alertsOf(recovered.STACK_NAME)).map((a) => `${a.alert.condition} ${a.alert.status}`),
    ).toEqual(["failure-rate resolved"]);
  });

  it("alerts on the recovery backlog, without a console link when PUBLIC_URL is empty", async () => {
    await allClear();
    for (let i = 0; i < 3; i++) {
      const id = uid("backlog");
      // Due in an hour: the reconciler leaves them be for this test.
      await storeEvent({
        id,
        job: { id, name: "email/verification" },
        state: "retrying",
        dueAt: Date.now() + 3_600_000,
      });
    }
    const env = stackEnv({ ALERT_BACKLOG: "3", PUBLIC_URL: "" });
    await scheduled(env);
    await scheduled(env);
    const alert = await onlyAlert(env.STACK_NAME);
    expect(alert.alert).toMatchObject({ condition: "backlog", status: "firing", threshold: 3 });
    expect(alert.alert).not.toHaveProperty("consoleUrl");
    expect(alert.alert.condition === "backlog" && alert.alert.retrying).toBeGreaterThanOrEqual(3);
    expect(alert.text).toMatch(
      /^FIRING \[.*\] Recovery backlog: \d+ events retrying in the recovery queue \(alert at 3\)\.$/,
    );

    const cleared = stackEnv({ ALERT_BACKLOG: NEVER });
    await scheduled(cleared);
    expect((await alertsOf(cleared.STACK_NAME)).map((a) => `${a.alert.condition} ${a.alert.status}`)).toEqual(
      ["backlog resolved"],
    );
  });

  it("a failing webhook holds up neither the reconciler nor retention, and the alert goes out on the next run", async () => {
    await allClear();
    const unreachable = stackEnv({ ALERT_DEAD_EVENTS: "1", ALERT_WEBHOOK_URL: "http://127.0.0.1:9/hook" });
    await deadEvents(1);
    // Work for the reconciler (an accepted event whose instance was never created) and for the
    // sweep (call counts from eight days ago).
    const pending = await overdueAccepted();
    const old = minuteOf(Date.now() - 8 * 86_400_000) - 1;
    await testEnv.DB.prepare("INSERT INTO backend_calls (minute, ok, failed) VALUES (?1, 1, 1)")
      .bind(old)
      .run();

    const logged = await logsDuring(() => scheduled(unreachable, RETENTION.cron));
    await statusIs(pending, "complete");
    expect(
      await testEnv.DB.prepare("SELECT minute FROM backend_calls WHERE minute = ?1").bind(old).first(),
    ).toBeNull();
    expect(await alertsOf(unreachable.STACK_NAME)).toEqual([]);

    // A receiver that answers, but not 2xx.
    const refusing = { ...unreachable, ALERT_WEBHOOK_URL: `${testEnv.BACKEND_URL}/control/nowhere` };
    let report: AlertsReport | undefined;
    logged.push(...(await logsDuring(async () => (report = await checkAlerts(refusing)))));
    expect(report).toEqual({
      kind: "checked",
      outcomes: {
        "dead-events": { kind: "webhook-failed", status: "firing" },
        "failure-rate": { kind: "quiet" },
        backlog: { kind: "quiet" },
      },
    });
    // The outcome is logged, the webhook's URL never.
    expect(logged.filter((line) => line.includes('"alerts.webhook-failed"'))).toHaveLength(2);
    for (const line of logged)
      for (const url of [unreachable.ALERT_WEBHOOK_URL, refusing.ALERT_WEBHOOK_URL])
        expect(line).not.toContain(new URL(url ?? "").host);

    const working = { ...unreachable, ALERT_WEBHOOK_URL: testEnv.ALERT_WEBHOOK_URL };
    await scheduled(working);
    await scheduled(working);
    expect(
      (await alertsOf(unreachable.STACK_NAME)).map((a) =>
        a.alert.condition === "dead-events" ? `${a.alert.status} ${a.alert.deadEvents}` : "",
      ),
    ).toEqual(["firing 1", "resolved 0"]);
  });

  it("a hanging webhook is cut off after ALERTS.timeoutMs while the reconciler does its work", async () => {
    await allClear();
    const hanging = stackEnv({
      ALERT_DEAD_EVENTS: "1",
      ALERT_WEBHOOK_URL: `${testEnv.BACKEND_URL}/control/alerts?delayMs=9000`,
    });
    await deadEvents(1);
    const pending = await overdueAccepted();
    const started = Date.now();
    let finished = false;
    const run = scheduled(hanging).then(() => {
      finished = true;
    });
    // The reconciler created the instance and the event was delivered while the webhook hung.
    await statusIs(pending, "complete");
    expect(finished).toBe(false);
    await run;
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(ALERTS.timeoutMs);
    expect(took).toBeLessThan(9000);
  }, 20_000);

  it("sends one alert when two checks overlap", async () => {
    await allClear();
    const env = stackEnv({ ALERT_DEAD_EVENTS: "1" });
    await deadEvents(1);
    // Two checks and a scheduled run at once, twice: one alert when it starts, one when it clears.
    const [a, b] = await Promise.all([checkAlerts(env), checkAlerts(env), scheduled(env)]);
    const sent = [a, b].filter((r) => r?.kind === "checked" && r.outcomes["dead-events"]?.kind === "sent");
    expect(sent.length).toBeLessThanOrEqual(1);
    await Promise.all([checkAlerts(env), checkAlerts(env), scheduled(env)]);
    expect((await alertsOf(env.STACK_NAME)).map((a) => a.alert.status)).toEqual(["firing", "resolved"]);
  });

  it("skips a condition whose threshold is invalid, and still checks the others", async () => {
    await allClear();
    const env = stackEnv({ ALERT_DEAD_EVENTS: "1", ALERT_BACKLOG: "lots", ALERT_FAILURE_RATE: "50%" });
    await deadEvents(1);
    expect(await checkAlerts(env)).toEqual({
      kind: "checked",
      outcomes: {
        "dead-events": { kind: "sent", status: "firing" },
        "failure-rate": { kind: "invalid-threshold" },
        backlog: { kind: "invalid-threshold" },
      },
    });
    for (const value of ["0", "-1", "1.5", "", "0x10"]) {
      const report = await checkAlerts({ ...env, ALERT_BACKLOG: value });
      expect(report.kind === "checked" && report.outcomes.backlog).toEqual({ kind: "invalid-threshold" });
    }
    for (const value of ["0", "1.5", "2", "half"]) {
      const report = await checkAlerts({ ...env, ALERT_FAILURE_RATE: value });
      expect(report.kind === "checked" && report.outcomes["failure-rate"]).toEqual({
        kind: "invalid-threshold",
      });
    }
    await checkAlerts({ ...env, ALERT_DEAD_EVENTS: NEVER });
    expect((await alertsOf(env.STACK_NAME)).map((a) => a.alert.status)).toEqual(["firing", "resolved"]);
  });

  it("checks nothing without a webhook, or with one that is not an http(s) URL", async () => {
    expect(await checkAlerts(stackEnv({ ALERT_WEBHOOK_URL: undefined }))).toEqual({
      kind: "skipped",
      reason: "no webhook",
    });
    expect(await checkAlerts(stackEnv({ ALERT_WEBHOOK_URL: "file:///etc/passwd" }))).toEqual({
      kind: "skipped",
      reason: "invalid webhook",
    });
  });

  it("never puts a secret or the webhook URL in an alert", async () => {
    const bodies = (await backend.alerts())
      .filter((a) => stacks.includes(bodyOf(a.body)?.alert?.stack ?? ""))
      .map((a) => JSON.stringify(a.body));
    expect(bodies.length).toBeGreaterThanOrEqual(8);
    const secrets = [...TEST_SECRETS, testEnv.ALERT_WEBHOOK_URL ?? "unset", "127.0.0.1", "/control/"];
    for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
  });
});

describe("alert decisions", () => {
  const state = { condition: "backlog", status: "clear", cursor: 4, claimedUntil: null, version: 1 } as const;
  const observation = (firing: boolean, cursor = 4, cleared = !firing) => ({
    facts: { condition: "backlog", retrying: 1, threshold: 1 } as const,
    firing,
    cleared,
    cursor,
  });

  it("announces a change, stays quiet otherwise, and leaves a condition another run is sending alone", () => {
    expect(decide(state, observation(true), 0)).toEqual({ kind: "announce", status: "firing" });
    expect(decide({ ...state, status: "firing" }, observation(false), 0)).toEqual({
      kind: "announce",
      status: "resolved",
    });
    expect(decide(state, observation(false), 0)).toEqual({ kind: "quiet" });
    expect(decide(state, observation(false, 9), 0)).toEqual({ kind: "advance", cursor: 9 });
    expect(decide({ ...state, claimedUntil: 10 }, observation(true), 5)).toEqual({ kind: "busy" });
    // Below the threshold but not clearly: a firing alert stays firing, nothing is sent.
    expect(decide({ ...state, status: "firing" }, observation(false, 4, false), 0)).toEqual({
      kind: "quiet",
    });
    // A claim past its time belongs to a sender presumed gone.
    expect(decide({ ...state, claimedUntil: 10 }, observation(true), 10)).toEqual({
      kind: "announce",
      status: "firing",
    });
  });
});
