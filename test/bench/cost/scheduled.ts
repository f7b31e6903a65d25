import { setPlatformFaults } from "../../../worker/local/faults/control.ts";
import type { Usage } from "../../../worker/local/faults/meter.ts";
import { CREATION, RECONCILER } from "../../../worker/src/topology.ts";
import type { Row } from "./measure.ts";
import { quiet } from "./settle.ts";

export interface Tail {
  jobs: number;
  d1RowsWritten: number;
  d1RowsRead: number;
  d1Statements: number;
}
export interface Fixed {
  reconcilerRunsPerMonth: number;
  perRun: Usage["d1"];
  dollarsPerMonth: number;
}

/** One run of the scheduled handler (the reconciler and the alert check), and what it asked of D1. */
async function scheduledRun(url: string): Promise<Usage["d1"]> {
  await setPlatformFaults(url, {});
  const trigger = await fetch(
    `${url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(RECONCILER.cron)}&format=json`,
  );
  if (!trigger.ok) throw new Error(`the scheduled trigger answered ${trigger.status}`);
  return (await quiet(url, 1_000)).d1;
}

/** What the scheduled handler costs: per job (the creation tail) and per month (the reconciler). */
export async function scheduledCosts(
  url: string,
  rows: readonly Row[],
  lastDispatch: number,
): Promise<{ tail: Tail; fixed: Fixed }> {
  // The creation tail passes each row a claim after it was written: one scheduled run once every
  // scenario's rows are that old passes them all. Its cost beyond an idle run is per job.
  await new Promise((r) => setTimeout(r, Math.max(0, lastDispatch + CREATION.claimMs + 1_000 - Date.now())));
  const passing = await scheduledRun(url);
  const idle = await scheduledRun(url);
  const jobs = rows.reduce((sum, r) => sum + r.jobs, 0);
  const tail = {
    jobs,
    d1RowsWritten: (passing.rowsWritten - idle.rowsWritten) / jobs,
    d1RowsRead: (passing.rowsRead - idle.rowsRead) / jobs,
    d1Statements: (passing.statements - idle.statements) / jobs,
  };
  console.log(`creation tail per job: ${JSON.stringify(tail)}`);
  // The reconciler runs every minute whatever the traffic: its cost is per month, not per job.
  const runsPerMonth = 60 * 24 * 30;
  const fixed = {
    reconcilerRunsPerMonth: runsPerMonth,
    perRun: idle,
    dollarsPerMonth:
      (runsPerMonth * (idle.rowsWritten * 1 + idle.rowsRead * 0.001)) / 1_000_000 +
      (runsPerMonth * 0.3) / 1_000_000,
  };
  return { tail, fixed };
}
