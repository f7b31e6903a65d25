import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "../runtimes.ts";
import type { Direction, DrillContext } from "./context.ts";
import type { Release, SharedOptions } from "./releases.ts";
import { RETRY_DELAY_SCALE, SCHEDULED_INTERVAL_MS } from "./settings.ts";

/** `release`'s runtime options on the direction's state, its log lines kept and counted. */
export function runtimeOptions(
  ctx: DrillContext,
  d: Direction,
  release: Release,
  faults: boolean,
): SharedOptions {
  const counts: Record<string, number> = {};
  d.logs[release.label] = counts;
  return {
    authToken: BENCH_TOKEN,
    operatorToken: BENCH_OPERATOR_TOKEN,
    backendUrl: ctx.backend.url,
    persistTo: d.stateDir,
    scheduledIntervalMs: SCHEDULED_INTERVAL_MS,
    retryDelayScale: RETRY_DELAY_SCALE,
    dispatchRateLimit: 1_000_000,
    vars: { BACKEND_TIMEOUT_MS: "30000" },
    // With the wrapper even when nothing fails: each runtime bundles into a folder of its own.
    ...(faults ? { platformFaults: {} } : {}),
    onLog: (line) => {
      if (d.lines.length < 200_000) d.lines.push(`${release.label} ${line}`);
      try {
        const { level, message } = JSON.parse(line) as { level?: string; message?: string };
        if (level === "warn" || level === "error")
          counts[`${level} ${message}`] = (counts[`${level} ${message}`] ?? 0) + 1;
      } catch {
        // The runtime's own lines: migrations applied, instances revived, scheduled runs failed.
        const own =
          /^(applied migrations \S+(?:, \S+)*|revived \d+ in-flight instances|scheduled run \w+)/.exec(
            line,
          )?.[1];
        if (own) counts[own] = (counts[own] ?? 0) + 1;
      }
    },
  };
}
