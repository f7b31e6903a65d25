import * as z from "zod";
import type { Env } from "../env.ts";
import { VARS } from "../topology.ts";
import type { Condition } from "./conditions.ts";

/** A threshold var that is set but makes no sense: its condition is not checked until fixed. */
export class InvalidThresholdError extends Error {
  override readonly name = "InvalidThresholdError";
}

export interface ThresholdValues {
  "dead-events": { deadEvents: number };
  "failure-rate": { rate: number; minCalls: number };
  backlog: { retrying: number };
}

/** A condition to check, with its thresholds. */
export type Check = { [C in Condition]: { condition: C; threshold: ThresholdValues[C] } }[Condition];

/** A condition's check, or why it cannot be checked. */
export type Setting =
  | { kind: "valid"; check: Check }
  | { kind: "invalid"; condition: Condition; error: InvalidThresholdError };

/** "1", "20": whole numbers only, so "1.5" or "0x10" are refused, not guessed at. */
const atLeastOne = z
  .string()
  .trim()
  .regex(/^\d+$/, "must be a whole number")
  .transform(Number)
  .pipe(z.number().min(1, "must be at least 1").max(Number.MAX_SAFE_INTEGER));
/** A share of calls, as a fraction: 0.5 is half. */
const share = z
  .string()
  .trim()
  .regex(/^(\d+\.?\d*|\.\d+)$/, "must be a decimal number")
  .transform(Number)
  .pipe(z.number().gt(0, "must be above 0").max(1, "must be at most 1 (a fraction: 0.5 is half)"));

type Name = "ALERT_DEAD_EVENTS" | "ALERT_FAILURE_RATE" | "ALERT_MIN_CALLS" | "ALERT_BACKLOG";

function read(env: Env, name: Name, schema: z.ZodType<number, string>): number {
  const parsed = schema.safeParse(env[name] ?? VARS[name]);
  if (parsed.success) return parsed.data;
  throw new InvalidThresholdError(`${name} ${parsed.error.issues[0]?.message ?? "is invalid"}`);
}

function setting(condition: Condition, check: () => Check): Setting {
  try {
    return { kind: "valid", check: check() };
  } catch (error) {
    if (error instanceof InvalidThresholdError) return { kind: "invalid", condition, error };
    throw error;
  }
}

/** Every condition, with its thresholds from the vars (defaults when unset); never throws for a bad one. */
export function settings(env: Env): Setting[] {
  return [
    setting("dead-events", () => ({
      condition: "dead-events",
      threshold: { deadEvents: read(env, "ALERT_DEAD_EVENTS", atLeastOne) },
    })),
    setting("failure-rate", () => ({
      condition: "failure-rate",
      threshold: {
        rate: read(env, "ALERT_FAILURE_RATE", share),
        minCalls: read(env, "ALERT_MIN_CALLS", atLeastOne),
      },
    })),
    setting("backlog", () => ({
      condition: "backlog",
      threshold: { retrying: read(env, "ALERT_BACKLOG", atLeastOne) },
    })),
  ];
}
