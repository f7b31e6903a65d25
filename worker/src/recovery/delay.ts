import type { Env } from "../env.ts";
import { delayScale } from "../settings/vars.ts";
import { RECOVERY } from "../topology.ts";

/** Queue delays are whole seconds within Cloudflare's ceiling. */
function seconds(value: number): number {
  return Math.min(Math.max(Math.round(value), 0), RECOVERY.maxDelaySeconds);
}

export function firstRecoveryDelay(env: Env): number {
  return seconds(RECOVERY.firstDelaySeconds * delayScale(env));
}

/**
 * The wait after failed delivery `attempt` (1-based, as `message.attempts`): the ladder's step
 * for it, the last step repeating, but never sooner than a Retry-After the backend sent.
 */
export function recoveryDelay(env: Env, attempt: number, retryAfterMs = 0): number {
  const ladder = RECOVERY.ladderSeconds;
  const step = ladder[Math.min(Math.max(attempt, 1), ladder.length) - 1] ?? ladder[ladder.length - 1];
  return seconds(Math.max((step ?? 0) * delayScale(env), Math.ceil(retryAfterMs / 1000)));
}
