import type { Env } from "../env.ts";
import { VARS, type VarName } from "../topology.ts";
import { SETTINGS, type SettingKey } from "./table.ts";

/** A var that is set but makes no sense: the worker refuses to guess what was meant. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The settings the worker reads as whole numbers, by the var each sets. */
type NumberVar = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { binding: VarName; range: readonly [number, number] }
    ? K
    : never;
}[SettingKey];

/**
 * A whole-number var within its setting's range (the one the stack reader checks), its default
 * when unset; anything else fails closed.
 */
export function numberVar(env: Env, key: NumberVar): number {
  const { binding, range } = SETTINGS[key];
  const raw = env[binding] ?? VARS[binding];
  const value = Number(raw);
  const [min, max] = range;
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max)
    throw new ConfigError(`${binding} must be a whole number from ${min} to ${max}`);
  return value;
}

/** How much recovery and step-retry delays are scaled (0 in tests and drills); 1 when unset or not a number. */
export function delayScale(env: Env): number {
  const scale = Number(env.RETRY_DELAY_SCALE ?? VARS.RETRY_DELAY_SCALE);
  return Number.isFinite(scale) && scale >= 0 ? scale : 1;
}
