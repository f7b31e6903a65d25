import * as z from "zod";
import type { Env } from "../env.ts";
import { VARS } from "../topology.ts";
import { ALERT_STATUSES, type AlertStatus, type Condition, type Facts, FactsSchema } from "./conditions.ts";

/**
 * The webhook body: Slack reads `text`; anything else can read the same facts from `alert`.
 * Nothing in it comes from a secret: the stack's name, counts, and the public console link.
 */
export const AlertMessageSchema = z.object({
  text: z.string(),
  alert: z.intersection(
    FactsSchema,
    z.object({
      status: z.enum(ALERT_STATUSES),
      stack: z.string(),
      /** Where an operator looks next; absent when the stack has no PUBLIC_URL. */
      consoleUrl: z.url().optional(),
      at: z.iso.datetime(),
    }),
  ),
});
export type AlertMessage = z.infer<typeof AlertMessageSchema>;

const CONSOLE_PATHS: Record<Condition, string> = {
  "dead-events": "/console/failed?status=dead",
  "failure-rate": "/console",
  backlog: "/console/failed?status=retrying",
};

const TITLES: Record<Condition, string> = {
  "dead-events": "Dead events",
  "failure-rate": "Backend failure rate",
  backlog: "Recovery backlog",
};

export function alertMessage(env: Env, facts: Facts, status: AlertStatus, now: number): AlertMessage {
  const stack = env.STACK_NAME ?? VARS.STACK_NAME;
  const consoleUrl = consoleLink(env.PUBLIC_URL ?? VARS.PUBLIC_URL, facts.condition);
  const link = consoleUrl === undefined ? "" : ` <${consoleUrl}|Open the console>`;
  const text = `${status === "firing" ? "FIRING" : "RESOLVED"} [${slack(stack)}] ${TITLES[facts.condition]}: ${detail(facts)}${link}`;
  return {
    text,
    alert: {
      ...facts,
      status,
      stack,
      ...(consoleUrl === undefined ? {} : { consoleUrl }),
      at: new Date(now).toISOString(),
    },
  };
}

function detail(facts: Facts): string {
  switch (facts.condition) {
    case "dead-events":
      return `${facts.deadEvents === 0 ? "no" : facts.deadEvents} new dead ${plural(facts.deadEvents, "event")} since the last check (alert at ${facts.threshold}).`;
    case "failure-rate":
      return `${facts.failed} of ${facts.calls} backend calls failed in the last ${facts.windowMinutes} minutes (${percent(facts.failureRate)}; alert at ${percent(facts.threshold)} of at least ${facts.minCalls} calls).`;
    case "backlog":
      return `${facts.retrying} ${plural(facts.retrying, "event")} retrying in the recovery queue (alert at ${facts.threshold}).`;
  }
}

/**
 * The console page for a condition, under PUBLIC_URL; only its origin and path are used, so
 * credentials or a query someone put in the var never reach the webhook.
 */
function consoleLink(publicUrl: string, condition: Condition): string | undefined {
  if (!URL.canParse(publicUrl.trim())) return undefined;
  const url = new URL(publicUrl.trim());
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}${CONSOLE_PATHS[condition]}`;
}

const plural = (n: number, noun: string) => (n === 1 ? noun : `${noun}s`);
const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
/** Slack reads `<`, `>` and `&` as markup. */
const slack = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
