import type { Usage } from "../../../worker/local/faults/meter.ts";
import type { machine } from "../machine.ts";
import type { capacity, PerJob } from "./model.ts";
import { PEERS, PRICES } from "./prices.ts";

/** test/bench/results/cost.md: the report's tables and sentences. */
export function markdown(report: {
  scenarios: { name: string; jobs: number; perJob: PerJob; dollarsPerMillion: number }[];
  tail: { jobs: number; d1RowsWritten: number; d1RowsRead: number; d1Statements: number };
  fixed: { perRun: Usage["d1"]; dollarsPerMonth: number };
  capacity: ReturnType<typeof capacity>;
  machine: ReturnType<typeof machine>;
}): string {
  const n = (x: number, digits = 2) => Number(x.toFixed(digits)).toString();
  const lines = [
    "| scenario | D1 rows written | D1 rows read | D1 statements | queue ops | instances | steps run | workflow runs | requests | CPU ms (local upper bound) | $ per million jobs |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...report.scenarios.map(
      ({ name, perJob: p, dollarsPerMillion: d }) =>
        `| ${name} | ${n(p.d1RowsWritten)} | ${n(p.d1RowsRead)} | ${n(p.d1Statements)} | ${n(p.queueOps)} | ${n(p.workflowInstances)} | ${n(p.workflowSteps)} | ${n(p.workflowRuns)} | ${n(p.requests)} | ${n(p.cpuMs, 1)} | ${n(d)} |`,
    ),
    "",
    `The creation tail (the reconciler passing each row a minute after it was written; not in the rows above): ${n(report.tail.d1RowsWritten, 3)} rows written, ${n(report.tail.d1RowsRead, 2)} read and ${n(report.tail.d1Statements, 3)} statements per job, over ${report.tail.jobs} jobs.`,
    "",
    `Fixed, whatever the traffic: the reconciler's run every minute reads ${report.fixed.perRun.rowsRead} rows and writes ${report.fixed.perRun.rowsWritten} when idle: $${n(report.fixed.dollarsPerMonth, 3)} a month.`,
    "",
    `Capacity (jobs per second, one-step): creations ${report.capacity.creationsAccount} per account, ${report.capacity.creationsWorkflows} across the workflows; one D1 database ${n(report.capacity.d1Production, 0)} at ${"1 ms"} per statement (production estimate), ${n(report.capacity.d1Local, 0)} at the local statement time. Ceiling: ${n(report.capacity.ceiling, 0)}/s, bound by ${report.capacity.bound}.`,
    "",
    "Prices (overage beyond the Workers Paid plan's monthly allowance, which is what a million more jobs cost):",
    "",
    "| what | $ per million | included a month | source (read) |",
    "|---|---|---|---|",
    ...PRICES.map(
      (p) =>
        `| ${p.what} | ${p.perMillion} | ${p.includedPerMonth ? p.includedPerMonth.toLocaleString("en-US") : "shared, see above"} | ${p.source} (${p.read}) |`,
    ),
    "",
    "The same work elsewhere (list prices, pay as you go):",
    "",
    "| peer | $ per million one-step jobs | basis | included | source (read) |",
    "|---|---|---|---|---|",
    ...PEERS.map(
      (p) =>
        `| ${p.name} | ${p.dollarsPerMillion === null ? "not published in the sources read" : n(p.dollarsPerMillion)} | ${p.basis} | ${p.included} | ${p.source} (${p.read}) |`,
    ),
    "",
    `Measured ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores), Node ${report.machine.node}, workerd ${report.machine.workerd}.`,
  ];
  return `${lines.join("\n")}\n`;
}
