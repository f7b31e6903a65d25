import { setPlatformFaults } from "../../../worker/local/faults/control.ts";
import type { EventName } from "../../../worker/src/events/catalog.ts";
import { BENCH_TOKEN } from "../runtimes.ts";
import { type CostContext, headers } from "./context.ts";
import { workerdCpuMs } from "./cpu.ts";
import { dollarsPerMillion, type PerJob, perJob } from "./model.ts";
import type { Scenario } from "./scenarios.ts";
import { quiet } from "./settle.ts";

export interface Row {
  name: string;
  what: string;
  jobs: number;
  perJob: PerJob;
  dollarsPerMillion: number;
  dollarsBy: Record<string, number>;
  statuses: Record<string, number>;
}

/**
 * Runs each scenario on a quiet worker and counts what it asked of the platform, per job.
 * `lastDispatch` is when the last scenario's work was dispatched, for the creation tail.
 */
export async function measureScenarios(
  ctx: CostContext,
  scenarios: readonly Scenario[],
): Promise<{ rows: Row[]; lastDispatch: number }> {
  const rows: Row[] = [];
  let lastDispatch = Date.now();
  await quiet(ctx.url);
  for (const scenario of scenarios) {
    await setPlatformFaults(ctx.url, {});
    const dispatched: { id: string; name: EventName }[] = [];
    const ids = (name: EventName) => {
      const events = Array.from({ length: scenario.jobs }, (_, i) => ({
        id: `cost_${scenario.name}_${i}`,
        name,
      }));
      dispatched.push(...events);
      return events;
    };
    const cpuBefore = workerdCpuMs();
    await scenario.run(ctx, ids);
    lastDispatch = Date.now();
    const usage = await quiet(ctx.url);
    const job = perJob(usage, scenario.jobs, workerdCpuMs() - cpuBefore);
    const dollars = dollarsPerMillion(job);
    const statuses = await finalStatuses(ctx.url, dispatched);
    if (statuses.complete !== scenario.jobs)
      throw new Error(
        `${scenario.name}: expected every event complete, /status says ${JSON.stringify(statuses)}`,
      );
    rows.push({
      ...scenario,
      perJob: job,
      dollarsPerMillion: dollars.total,
      dollarsBy: dollars.by,
      statuses,
    });
    console.log(`${scenario.name}: ${JSON.stringify(job)} → $${dollars.total.toFixed(2)} per million`);
  }
  return { rows, lastDispatch };
}

/** Every event a scenario dispatched must end where it should: asked after the counting. */
async function finalStatuses(
  url: string,
  events: readonly { id: string }[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { id } of events) {
    const response = await fetch(`${url}/status/${id}`, { headers: headers(BENCH_TOKEN) });
    const { status } = (await response.json()) as { status: string };
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}
