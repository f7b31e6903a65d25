import { type EventName, isEventName, PRIORITIES, type Priority } from "../events/catalog.ts";
import { ConfigError } from "./config-error.ts";

export type PriorityOverrides = Partial<Record<EventName, Priority>>;

/**
 * A stack's moves of events between classes (`EVENT_PRIORITIES`): a JSON object of catalog event
 * name → `interactive` or `bulk`. Throws ConfigError saying what is wrong: a misspelt name would
 * otherwise leave a one-time code waiting behind a campaign without a word.
 */
export function parsePriorities(text: string): PriorityOverrides {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError("EVENT_PRIORITIES must be a JSON object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigError("EVENT_PRIORITIES must be a JSON object");
  const overrides: PriorityOverrides = {};
  for (const [name, priority] of Object.entries(value)) {
    if (!isEventName(name)) throw new ConfigError(`EVENT_PRIORITIES names an unknown event: ${name}`);
    if (!(PRIORITIES as readonly unknown[]).includes(priority))
      throw new ConfigError(`EVENT_PRIORITIES: ${name} must be one of ${PRIORITIES.join(", ")}`);
    overrides[name] = priority as Priority;
  }
  return overrides;
}

/** The settings table's check of the text (the stack reader runs it before anything deploys). */
export const PRIORITIES_PATTERN = {
  test(text: string): boolean {
    try {
      parsePriorities(text);
      return true;
    } catch {
      return false;
    }
  },
};
