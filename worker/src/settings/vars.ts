import type { Env } from "../env.ts";
import { CATALOG, type EventName, type Priority } from "../events/catalog.ts";
import { log } from "../log.ts";
import { VARS, type VarName } from "../topology.ts";
import { ConfigError } from "./config-error.ts";
import { type PriorityOverrides, parsePriorities } from "./priorities.ts";
import { SETTINGS, type SettingKey } from "./table.ts";

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

let priorities: { text: string; overrides: PriorityOverrides } | undefined;

/**
 * The overrides, or none when the text makes no sense: they only order work, and a bad one must
 * not stop it (the stack reader refuses it before a deploy).
 */
function overridesOrNone(text: string): PriorityOverrides {
  try {
    return parsePriorities(text);
  } catch (error) {
    log.error("settings.event-priorities-ignored", { error: (error as Error).message });
    return {};
  }
}

/** An event's class: the stack's override (EVENT_PRIORITIES, parsed once per value), else the catalog's. */
export function priorityOf(env: Env, name: EventName): Priority {
  const text = env.EVENT_PRIORITIES ?? VARS.EVENT_PRIORITIES;
  if (priorities?.text !== text) priorities = { text, overrides: overridesOrNone(text) };
  return priorities.overrides[name] ?? CATALOG[name].priority;
}

/** Every event the stack runs as interactive: what store queries order first. */
export function interactiveEvents(env: Env): EventName[] {
  return (Object.keys(CATALOG) as EventName[]).filter((name) => priorityOf(env, name) === "interactive");
}
