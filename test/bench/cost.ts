import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Fault } from "../../worker/local/backend-api.ts";
import { readPlatformFaults, setPlatformFaults } from "../../worker/local/faults/control.ts";
import type { Usage } from "../../worker/local/faults/meter.ts";
import { startRuntime } from "../../worker/local/runtime.ts";
import { type EventName, stepsOf } from "../../worker/src/events/catalog.ts";
import { CREATION, RECONCILER, STEP_RETRY } from "../../worker/src/topology.ts";
import { client } from "../support/client.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import { capacity, dollarsPerMillion, type PerJob, perJob } from "./cost/model.ts";
import { PEERS, PRICES } from "./cost/prices.ts";
import { machine } from "./machine.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "./runtimes.ts";

/**
 * `npm run cost`: what a job asks of the platform, counted at every binding (D1 rows and
 * statements from each result's meta, queue messages sent, received and retried, Workflows
 * instances, runs and steps, Worker requests, workerd's CPU) over scenarios from a one-step
 * delivery to a dead event replayed, then turned into dollars per million jobs at list prices,
 * beside the peers' prices and a capacity model. Writes test/bench/results/cost.{json,md}.
 * `COST_BACKEND=process` runs the backend as a separate process.
 */
const backend = await openBackend(backendMode(process.env.COST_BACKEND), BENCH_TOKEN);
const runtime = await startRuntime({
  authToken: BENCH_TOKEN,
  operatorToken: BENCH_OPERATOR_TOKEN,
  backendUrl: backend.url,
  dispatchRateLimit: 1_000_000,
  // Seconds instead of minutes for the recovery ladder; the operations are the same.
  retryDelayScale: 0.001,
  // No faults: the wrapper runs only to count what the worker asks of its bindings.
  platformFaults: {},
  scheduledTrigger: true,
  onLog: process.env.COST_LOG ? console.log : () => {},
});

const producer = client(runtime.url, { producer: BENCH_TOKEN, operator: BENCH_OPERATOR_TOKEN });
const headers = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

/** Waits until every step of these events has been answered with `status` by the backend. */
async function answered(events: readonly { id: string; name: EventName }[], status: (s: number) => boolean) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const seen = new Set(
      (await backend.calls()).filter((c) => status(c.status)).map((c) => c.idempotencyKey),
    );
    if (events.every((e) => stepsOf(e.name).every((step) => seen.has(`${e.id}:${step}`)))) return;
    if (Date.now() > deadline)
      throw new Error(`the backend did not answer every step in time: ${seen.size} of the keys seen`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the worker has stopped asking anything of its bindings for `quietMs`. */
async function quiet(quietMs = 2_000): Promise<Usage> {
  let last = "";
  let since = Date.now();
  for (;;) {
    const { usage } = await readPlatformFaults(runtime.url);
    const now = JSON.stringify(usage);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return usage;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CPU seconds of this process's workerd children (Linux /proc), in ms. */
function workerdCpuMs(): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (name === "workerd" && Number(fields[1]) === process.pid)
        total += ((Number(fields[11]) + Number(fields[12])) / ticks) * 1000;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

interface Scenario {
  name: string;
  what: string;
  jobs: number;
  run(ids: (name: EventName) => { id: string; name: EventName }[]): Promise<void>;
}

const ONE_STEP: EventName = "email/verification";
const PAYOUT: EventName = "payment/process-payout";
const okStatus = (s: number) => s >= 200 && s < 300;

/** Dispatches `name` events `perRequest` at a time, each with `fault` at the backend, and waits for every step's 2xx. */
const delivered =
  (name: EventName, perRequest: number, fault?: Omit<Fault, "eventId">) =>
  async (ids: (name: EventName) => { id: string; name: EventName }[]) => {
    const events = ids(name);
    if (fault) for (const e of events) await backend.addFault({ ...fault, eventId: e.id });
    await producer.dispatchAll(events, perRequest);
    await answered(events, okStatus);
  };

const SCENARIOS: Scenario[] = [
  {
    name: "one-step",
    what: "a one-step event delivered at the first call (batches of 10)",
    jobs: 20,
    run: delivered(ONE_STEP, 10),
  },
  {
    name: "three-step-payout",
    what: "a payout: validate, process, notify, each delivered at the first call",
    jobs: 20,
    run: delivered(PAYOUT, 10),
  },
  {
    name: "transient-retry",
    what: "a one-step event whose first call answers 503, delivered by the workflow's retry",
    jobs: 20,
    run: delivered(ONE_STEP, 10, { status: 503, count: 1 }),
  },
  {
    name: "recovery-ladder",
    what: "fails every workflow attempt and the first recovery delivery, delivered by the second",
    jobs: 10,
    run: delivered(ONE_STEP, 10, { status: 500, count: STEP_RETRY.limit + 2 }),
  },
  {
    name: "dead-replayed",
    what: "answered 422 (dead), then replayed by an operator and delivered",
    jobs: 10,
    async run(ids) {
      const events = ids(ONE_STEP);
      for (const e of events) await backend.addFault({ eventId: e.id, status: 422, count: 1 });
      await producer.dispatchAll(events, 10);
      await answered(events, (s) => s === 422);
      await quiet();
      const response = await fetch(`${runtime.url}/failed-events/replay`, {
        method: "POST",
        headers: headers(BENCH_OPERATOR_TOKEN),
        body: JSON.stringify({ status: "dead", limit: 500 }),
      });
      if (!response.ok) throw new Error(`replay answered ${response.status}: ${await response.text()}`);
      await answered(events, okStatus);
    },
  },
  {
    name: "batch-100",
    what: "one-step events, 100 in one /dispatch request",
    jobs: 100,
    run: delivered(ONE_STEP, 100),
  },
  {
    name: "batch-1",
    what: "one-step events, one per /dispatch request",
    jobs: 20,
    run: delivered(ONE_STEP, 1),
  },
];

/** One run of the scheduled handler (the reconciler and the alert check), and what it asked of D1. */
async function scheduledRun(): Promise<Usage["d1"]> {
  await setPlatformFaults(runtime.url, {});
  const trigger = await fetch(
    `${runtime.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(RECONCILER.cron)}&format=json`,
  );
  if (!trigger.ok) throw new Error(`the scheduled trigger answered ${trigger.status}`);
  return (await quiet(1_000)).d1;
}

/** Every event a scenario dispatched must end where it should: asked after the counting. */
async function finalStatuses(events: readonly { id: string }[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { id } of events) {
    const response = await fetch(`${runtime.url}/status/${id}`, { headers: headers(BENCH_TOKEN) });
    const { status } = (await response.json()) as { status: string };
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

interface Row {
  name: string;
  what: string;
  jobs: number;
  perJob: PerJob;
  dollarsPerMillion: number;
  dollarsBy: Record<string, number>;
  statuses: Record<string, number>;
}

const rows: Row[] = [];
let lastDispatch = Date.now();
try {
  await quiet();
  for (const scenario of SCENARIOS) {
    await setPlatformFaults(runtime.url, {});
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
    await scenario.run(ids);
    lastDispatch = Date.now();
    const usage = await quiet();
    const job = perJob(usage, scenario.jobs, workerdCpuMs() - cpuBefore);
    const dollars = dollarsPerMillion(job);
    const statuses = await finalStatuses(dispatched);
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
  // The creation tail passes each row a claim after it was written: one scheduled run once every
  // scenario's rows are that old passes them all. Its cost beyond an idle run is per job.
  await new Promise((r) => setTimeout(r, Math.max(0, lastDispatch + CREATION.claimMs + 1_000 - Date.now())));
  const passing = await scheduledRun();
  const idle = await scheduledRun();
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
  const oneStep = rows.find((r) => r.name === "one-step") as Row;
  const model = capacity(oneStep.perJob);
  const report = {
    machine: machine(),
    backend: backend.mode,
    scenarios: rows.map(({ name, what, jobs, perJob: p, dollarsPerMillion: d, dollarsBy, statuses }) => ({
      name,
      what,
      jobs,
      perJob: p,
      dollarsPerMillion: Number(d.toFixed(4)),
      dollarsBy,
      statuses,
    })),
    tail,
    fixed,
    capacity: model,
    prices: PRICES,
    peers: PEERS,
  };
  const dir = join(import.meta.dirname, "results");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "cost.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, "cost.md"), markdown(report));
  console.log(markdown(report));
} finally {
  await runtime.close();
  await backend.close();
}

function markdown(report: {
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
