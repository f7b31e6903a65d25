import type { Env } from "../env.ts";
import { purgeBefore } from "../store/retention.ts";
import { VARS } from "../topology.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Forgets what is settled and older than RETENTION_DAYS; dead events stay until an operator acts. */
export function purgeExpired(env: Env, now: number) {
  const days = Number(env.RETENTION_DAYS ?? VARS.RETENTION_DAYS);
  return purgeBefore(
    env.DB,
    now - (Number.isFinite(days) && days > 0 ? days : Number(VARS.RETENTION_DAYS)) * DAY_MS,
  );
}
