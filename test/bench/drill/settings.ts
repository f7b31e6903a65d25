import { parsePlatformFaults } from "../../../worker/local/faults/config.ts";

/** How many events the drill dispatches (`DRILL_EVENTS`, default 2,000), in how many bursts. */
export const N = Number(process.env.DRILL_EVENTS ?? 2000);
export const BURSTS = 4;
export const TIMEOUT_MS = 1000;
export const CREATION_LIMIT = 100;
export const platformFaults = parsePlatformFaults(
  process.env.PLATFORM_FAULTS ??
    JSON.stringify({
      createRatePerSecond: CREATION_LIMIT,
      createFailRate: 0.05,
      d1FailRate: 0.02,
      queueSendFailRate: 0.1,
      createLostAnswerRate: 0.05,
      d1LostAnswerRate: 0.01,
      queueSendLostAnswerRate: 0.05,
      seed: 7,
    }),
);
/** One event in this many is delayed and cancelled by its producer before it is due. */
export const CANCEL_EVERY = 40;
export const CANCEL_DELAY_MS = 60_000;
/** A step whose look at the row came just before the cancel may reach the backend a moment later. */
export const UNDER_WAY_MS = 250;

/** Limits on the backend for a drill run with them on (`DRILL_BACKEND_LIMITS`, BACKEND_LIMITS' JSON). */
export const BACKEND_LIMITS = process.env.DRILL_BACKEND_LIMITS;
