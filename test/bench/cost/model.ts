import type { Usage } from "../../../worker/local/faults/meter.ts";
import { CREATION, QUEUES, WORKFLOW_KINDS } from "../../../worker/src/topology.ts";
import { type PriceId, priceOf } from "./prices.ts";

/** What one job asks of the platform, on average over a scenario. */
export interface PerJob {
  d1RowsWritten: number;
  d1RowsRead: number;
  d1Statements: number;
  /** Billable queue operations: each message written, read (again on every retry) and deleted. */
  queueOps: number;
  workflowInstances: number;
  workflowSteps: number;
  /** Times the engine ran an instance (each a billed Workflows invocation). */
  workflowRuns: number;
  /** Worker requests: /dispatch and the operator API, and queue consumer invocations. */
  requests: number;
  /** CPU of the local workerd process (an upper bound: the engine, D1 and queues run there too). */
  cpuMs: number;
  /** Milliseconds D1 spent executing this job's statements (each result's `meta.duration`). */
  d1Ms: number;
}

/** A scenario's usage, per job. */
export function perJob(usage: Usage, jobs: number, cpuMs: number): PerJob {
  const received = Object.values(usage.queue.received).reduce((a, b) => a + b, 0);
  // The move to the dead-letter queue is a write the worker does not make: one per message its
  // consumer receives. Every message received is read; every one not retried is deleted.
  const movedToDeadLetter = usage.queue.received[QUEUES.deadLetter.name] ?? 0;
  const queueOps = usage.queue.sent + movedToDeadLetter + received + (received - usage.queue.retried);
  const per = (n: number) => n / jobs;
  return {
    d1RowsWritten: per(usage.d1.rowsWritten),
    d1RowsRead: per(usage.d1.rowsRead),
    d1Statements: per(usage.d1.statements),
    queueOps: per(queueOps),
    workflowInstances: per(usage.workflows.instances),
    workflowSteps: per(usage.workflows.steps),
    workflowRuns: per(usage.workflows.runs),
    requests: per(usage.requests.fetch + usage.requests.queue),
    cpuMs: per(cpuMs),
    d1Ms: per(usage.d1.durationMs),
  };
}

/** Which price each per-job quantity is billed at. */
const BILLED: readonly [keyof PerJob, PriceId][] = [
  ["d1RowsWritten", "d1RowsWritten"],
  ["d1RowsRead", "d1RowsRead"],
  ["queueOps", "queueOps"],
  ["requests", "requests"],
  ["workflowRuns", "workflowRequests"],
  ["cpuMs", "cpuMs"],
];

/** Dollars per million jobs at list overage prices, by price and in total. */
export function dollarsPerMillion(job: PerJob): { total: number; by: Record<PriceId, number> } {
  const by = {} as Record<PriceId, number>;
  let total = 0;
  for (const [quantity, price] of BILLED) {
    // n per job × $p per million units = $n·p per million jobs.
    const dollars = job[quantity] * priceOf(price).perMillion;
    by[price] = (by[price] ?? 0) + dollars;
    total += dollars;
  }
  return { total, by };
}

/**
 * D1 runs one query at a time per database; Cloudflare's guide: "if your average query takes
 * 1 ms, you can run approximately 1,000 queries per second".
 */
export const D1_PRODUCTION_QUERY_MS = 1;
export const D1_THROUGHPUT_SOURCE =
  "https://developers.cloudflare.com/d1/platform/limits/ (FAQ: queries per second)";

export interface Capacity {
  /** Jobs per second each bound allows. */
  creationsAccount: number;
  creationsWorkflows: number;
  d1Local: number;
  d1Production: number;
  /** The lowest of the production bounds, and which one it is. */
  ceiling: number;
  bound: "creations (account)" | "creations (per workflow)" | "D1 (one database)";
}

/**
 * The per-account ceiling in jobs per second: the lowest of Workflows creations (per account,
 * and per workflow times the workflows a stack has), and one D1 database's serial throughput at
 * the statements a job needs (locally at the measured time per statement, in production at
 * D1_PRODUCTION_QUERY_MS). Worker CPU is not a bound: isolates scale out, it only costs.
 */
export function capacity(
  job: Pick<PerJob, "d1Statements" | "d1Ms">,
  workflows = WORKFLOW_KINDS.length,
): Capacity {
  const creationsAccount = CREATION.accountPerSecond;
  const creationsWorkflows = CREATION.workflowPerSecond * workflows;
  const d1Local = job.d1Ms > 0 ? 1000 / job.d1Ms : Number.POSITIVE_INFINITY;
  const d1Production = 1000 / (D1_PRODUCTION_QUERY_MS * job.d1Statements);
  const bounds = [
    [creationsAccount, "creations (account)"],
    [creationsWorkflows, "creations (per workflow)"],
    [d1Production, "D1 (one database)"],
  ] as const;
  const [ceiling, bound] = bounds.reduce((low, b) => (b[0] < low[0] ? b : low));
  return { creationsAccount, creationsWorkflows, d1Local, d1Production, ceiling, bound };
}
