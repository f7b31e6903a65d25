import type { Env } from "./env.ts";
import { VARS } from "./topology.ts";

/** A var that is set but makes no sense: the worker refuses to guess what was meant. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const RANGES = {
  MAX_EVENTS_PER_REQUEST: [1, 10_000],
  BACKEND_TIMEOUT_MS: [1, 120_000],
} as const;

/** A whole-number var within its range, its default when unset; anything else fails closed. */
export function numberVar(env: Env, name: keyof typeof RANGES): number {
  const raw = env[name] ?? VARS[name];
  const value = Number(raw);
  const [min, max] = RANGES[name];
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** How much recovery and step-retry delays are scaled (0 in tests and drills); 1 when unset or not a number. */
export function delayScale(env: Env): number {
  const scale = Number(env.RETRY_DELAY_SCALE ?? VARS.RETRY_DELAY_SCALE);
  return Number.isFinite(scale) && scale >= 0 ? scale : 1;
}
