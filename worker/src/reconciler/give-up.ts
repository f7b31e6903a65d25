import type { Env } from "../env.ts";
import { instanceRetention, retentionDays } from "../recovery/retention.ts";
import type { StoredEvent } from "../store/events.ts";

/** Time after which an event that could not be created, or cannot be routed, may be shown dead. */
export const ABANDON_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Whether the event's instance, had it existed, may have been forgotten by now: it finished no
 * sooner than the event was accepted and due, and is kept that long after.
 */
export const forgettable = (env: Env, event: StoredEvent, now: number) =>
  Math.max(event.createdAt, event.runAt ?? 0) + instanceRetention(env) - FORGET_MARGIN_MS <= now;
/** Clocks and the platform's own sweep are not exact: an hour's doubt counts as forgotten. */
const FORGET_MARGIN_MS = 60 * 60 * 1000;

export const gone = (env: Env) =>
  `Its workflow instance is not found, and is older than the instances' retention (${retentionDays(env)} days): ` +
  "it may have performed every step with its ending never recorded. Check with the backend, then replay or discard it";
