import { describe, expect, it } from "vitest";
import { type AlertsReport, checkAlerts } from "../../worker/src/alerts/check.ts";
import { decide } from "../../worker/src/alerts/decide.ts";
import { minuteOf } from "../../worker/src/store/backend-calls.ts";
import { ALERTS, RETENTION } from "../../worker/src/topology.ts";
import {
  alertsOf,
  allClear,
  deadEvents,
  logsDuring,
  NEVER,
  overdueAccepted,
  scanSentAlerts,
  scheduled,
  stackEnv,
} from "./alerts-setup.ts";
import { statusIs, testEnv } from "./helpers.ts";

describe("alerts when the webhook or a threshold misbehaves", () => {
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

  // After every alert test of this file: what each sent, scanned for what must never leave.
  it("never puts a secret or the webhook URL in an alert, even when the webhook misbehaves", async () => {
    expect(await scanSentAlerts()).toBeGreaterThanOrEqual(6);
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
