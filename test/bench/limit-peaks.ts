import type { Call } from "../../worker/local/backend-api.ts";
import { parseBackendLimits } from "../../worker/src/settings/backend-limits.ts";

/** Per path with a perSecond limit: the most calls the backend saw start in one second, and the limit. */
export interface LimitPeak {
  path: string;
  limit: number;
  busiestSecond: number;
}

/** The most calls in any one second (a window sliding from each call). */
export function busiestSecond(at: readonly number[]): number {
  const sorted = [...at].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) <= (sorted[i] as number) - 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** How close the backend came to each perSecond limit of `limits` (BACKEND_LIMITS text). */
export function limitPeaks(limits: string, calls: readonly Call[]): LimitPeak[] {
  return Object.entries(parseBackendLimits(limits))
    .filter(([path, limit]) => path !== "*" && path !== "perTenant" && limit.perSecond !== undefined)
    .map(([path, limit]) => ({
      path,
      limit: limit.perSecond as number,
      busiestSecond: busiestSecond(calls.filter((c) => c.path === path).map((c) => c.at)),
    }));
}
