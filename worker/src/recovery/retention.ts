import type { Env } from "../env.ts";
import { purge } from "../store/retention.ts";
import { instanceRetentionMs, VARS } from "../topology.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** RETENTION_DAYS as configured; the default where it is not a positive number. */
export function retentionDays(env: Env): number {
  const days = Number(env.RETENTION_DAYS ?? VARS.RETENTION_DAYS);
  return Number.isFinite(days) && days > 0 ? days : Number(VARS.RETENTION_DAYS);
}

/** How long the stack's Workflows remember a finished instance (they are given the same days). */
export const instanceRetention = (env: Env) => instanceRetentionMs(retentionDays(env));

/** Forgets what is settled and older than RETENTION_DAYS; dead events stay until an operator acts. */
export function purgeExpired(env: Env, now: number) {
  return purge(env.DB, now, retentionDays(env) * DAY_MS);
}
