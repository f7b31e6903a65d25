import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { log } from "../log.ts";
import { type AlertState, claimAlert, readAlertStates, settleAlert } from "../store/alert-state.ts";
import { ALERTS } from "../topology.ts";
import type { AlertStatus, Condition, Observation } from "./conditions.ts";
import { decide } from "./decide.ts";
import { measure } from "./measure.ts";
import { alertMessage } from "./message.ts";
import { type Check, settings } from "./thresholds.ts";
import { postAlert, WebhookError, webhookUrl } from "./webhook.ts";

/**
 * How long a sender owns a condition: its webhook call with room for the D1 writes around it.
 * A sender that has not settled by then is presumed gone, and the next run may send instead.
 */
const CLAIM_MS = 3 * ALERTS.timeoutMs;

/** What a check did about one condition. */
export type ConditionOutcome =
  | { kind: "invalid-threshold" }
  | { kind: "busy" }
  | { kind: "quiet" }
  | { kind: "sent"; status: AlertStatus }
  | { kind: "webhook-failed"; status: AlertStatus }
  | { kind: "error" };

export type AlertsReport =
  | { kind: "skipped"; reason: "no webhook" | "invalid webhook" }
  | { kind: "checked"; outcomes: Partial<Record<Condition, ConditionOutcome>> }
  | { kind: "failed" };

/**
 * The scheduled alert check: measures every condition and tells the webhook what started or
 * stopped holding. Never throws, and logs outcomes only (never the webhook URL).
 */
export async function checkAlerts(env: Env, now = Date.now()): Promise<AlertsReport> {
  const webhook = webhookUrl(env.ALERT_WEBHOOK_URL);
  if (webhook.kind === "unset") return { kind: "skipped", reason: "no webhook" };
  if (webhook.kind === "invalid") {
    log.error("alerts.webhook-invalid", { error: "ALERT_WEBHOOK_URL is not an http(s) URL" });
    return { kind: "skipped", reason: "invalid webhook" };
  }
  try {
    const outcomes: Partial<Record<Condition, ConditionOutcome>> = {};
    const checks: Check[] = [];
    for (const setting of settings(env)) {
      if (setting.kind === "valid") checks.push(setting.check);
      else {
        log.error("alerts.invalid-threshold", { condition: setting.condition, error: setting.error.message });
        outcomes[setting.condition] = { kind: "invalid-threshold" };
      }
    }
    const states = await readAlertStates(
      env.DB,
      checks.map((c) => c.condition),
      now,
      alertingSince(env, now),
    );
    // Each condition on its own: one that fails (or waits on the webhook) holds up no other.
    await Promise.all(
      checks.map(async (check) => {
        outcomes[check.condition] = await checkOne(env, webhook.url, check, states.get(check.condition), now);
      }),
    );
    log.info("alerts.checked", summary(outcomes));
    return { kind: "checked", outcomes };
  } catch (error) {
    log.error("alerts.failed", { error: bounded(String(error)) });
    return { kind: "failed" };
  }
}

/** When this version was deployed (alerting was set up then); `now` where it is not bound. */
function alertingSince(env: Env, now: number): number {
  const deployed = Date.parse(env.CF_VERSION_METADATA?.timestamp ?? "");
  return Number.isFinite(deployed) ? Math.min(deployed, now) : now;
}

async function checkOne(
  env: Env,
  url: string,
  check: Check,
  state: AlertState | undefined,
  now: number,
): Promise<ConditionOutcome> {
  try {
    if (state === undefined) throw new Error(`No alert state for ${check.condition}`);
    const observation = await measure(env.DB, check, state.cursor, now);
    const decision = decide(state, observation, now);
    switch (decision.kind) {
      case "busy":
      case "quiet":
        return { kind: decision.kind };
      case "advance":
        await settleAlert(env.DB, state.condition, state.version, state.status, decision.cursor, now);
        return { kind: "quiet" };
      case "announce":
        return await announce(env, url, state, observation, decision.status, now);
    }
  } catch (error) {
    log.error("alerts.failed", { condition: check.condition, error: bounded(String(error)) });
    return { kind: "error" };
  }
}

/** Sends one alert under a claim, so of two overlapping runs only one sends it. */
async function announce(
  env: Env,
  url: string,
  state: AlertState,
  observation: Observation,
  status: AlertStatus,
  now: number,
): Promise<ConditionOutcome> {
  const version = await claimAlert(env.DB, state, now + CLAIM_MS, now);
  if (version === undefined) return { kind: "busy" };
  const { condition } = state;
  try {
    await postAlert(url, alertMessage(env, observation.facts, status, now), ALERTS.timeoutMs);
  } catch (error) {
    // Back to what it was, claim ended: the next run decides again and sends what is true then.
    await settleAlert(env.DB, condition, version, state.status, state.cursor, Date.now());
    const reason = error instanceof WebhookError ? error.message : "unknown";
    log.warn("alerts.webhook-failed", { condition, status, reason });
    return { kind: "webhook-failed", status };
  }
  const told = status === "firing" ? "firing" : "clear";
  await settleAlert(env.DB, condition, version, told, observation.cursor, Date.now());
  log.info("alerts.sent", { condition, status });
  return { kind: "sent", status };
}

/** One log field per condition: "quiet", "sent firing", "webhook-failed resolved", ... */
function summary(outcomes: Partial<Record<Condition, ConditionOutcome>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(outcomes).map(([condition, outcome]) => [
      condition,
      "status" in outcome ? `${outcome.kind} ${outcome.status}` : outcome.kind,
    ]),
  );
}
