import { describe, expect, it } from "vitest";
import { recentCalls } from "../../worker/src/store/backend-calls.ts";
import { ALERTS } from "../../worker/src/topology.ts";
import {
  alertsOf,
  allClear,
  deadEvents,
  deliver,
  NEVER,
  onlyAlert,
  PUBLIC_URL,
  passTail,
  scanSentAlerts,
  scheduled,
  stackEnv,
} from "./alerts-setup.ts";
import { envelope, resetPassword, storeEvent, testEnv, uid } from "./helpers.ts";

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

  // After every alert test of this file: what each sent, scanned for what must never leave.
  it("never puts a secret or the webhook URL in an alert", async () => {
    expect(await scanSentAlerts()).toBeGreaterThanOrEqual(8);
  });
});
