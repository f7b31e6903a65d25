import type { BackendMode } from "../backend-process.ts";
import { machine } from "../machine.ts";
import type { Revisions } from "./ref.ts";
import type { DirectionResult } from "./results.ts";
import { N, RETRY_DELAY_SCALE, SCHEDULED_INTERVAL_MS, SLEEP_MS } from "./settings.ts";

/** test/bench/results/upgrade-drill.json: both directions, group by group, and what failed. */
export function upgradeReport(run: {
  seconds: number;
  backend: BackendMode;
  rev: Revisions;
  ref: { migrations: boolean; platformFaults: boolean };
  results: DirectionResult[];
  problems: string[];
}) {
  const { rev } = run;
  return {
    machine: machine(),
    seconds: run.seconds,
    backend: run.backend,
    ref: {
      arg: rev.refArg,
      commit: rev.commit,
      subject: rev.subject,
      migrations: run.ref.migrations,
      platformFaults: run.ref.platformFaults,
    },
    tree: { head: rev.head, uncommittedChanges: rev.dirty },
    eventsPerState: N,
    sleepMs: SLEEP_MS,
    retryDelayScale: RETRY_DELAY_SCALE,
    scheduledIntervalMs: SCHEDULED_INTERVAL_MS,
    directions: run.results,
    problems: run.problems,
  };
}

export type UpgradeReport = ReturnType<typeof upgradeReport>;
