/**
 * The list prices `npm run cost` turns operations into dollars with: one table, each price with
 * its source and the date it was read. Cloudflare's are the Workers Paid plan's ($5 a month);
 * `perMillion` is the overage beyond `includedPerMonth`, which is what a million more jobs cost
 * once a stack is busy enough to spend the allowance.
 */
export interface Price {
  id: PriceId;
  what: string;
  perMillion: number;
  includedPerMonth: number;
  unit: string;
  source: string;
  read: string;
  note?: string;
}

export type PriceId =
  | "d1RowsWritten"
  | "d1RowsRead"
  | "queueOps"
  | "requests"
  | "cpuMs"
  | "workflowRequests"
  | "workflowCpuMs";

const READ = "2026-12-07";
const WORKERS_PRICING = "https://developers.cloudflare.com/workers/platform/pricing/";

export const PRICES: readonly Price[] = [
  {
    id: "d1RowsWritten",
    what: "D1 rows written (each index entry written is a row)",
    perMillion: 1.0,
    includedPerMonth: 50_000_000,
    unit: "row",
    source: "https://developers.cloudflare.com/d1/platform/pricing/",
    read: READ,
  },
  {
    id: "d1RowsRead",
    what: "D1 rows read",
    perMillion: 0.001,
    includedPerMonth: 25_000_000_000,
    unit: "row",
    source: "https://developers.cloudflare.com/d1/platform/pricing/",
    read: READ,
  },
  {
    id: "queueOps",
    what: "Queues operations (write, read, delete per 64 KB; a retry is another read)",
    perMillion: 0.4,
    includedPerMonth: 1_000_000,
    unit: "operation",
    source: "https://developers.cloudflare.com/queues/platform/pricing/",
    read: READ,
  },
  {
    id: "requests",
    what: "Workers requests (fetch; queue consumer invocations counted as one each)",
    perMillion: 0.3,
    includedPerMonth: 10_000_000,
    unit: "request",
    source: WORKERS_PRICING,
    read: READ,
    note: "The pages do not say how consumer invocations bill; counted as requests, the higher reading.",
  },
  {
    id: "cpuMs",
    what: "Workers CPU milliseconds",
    perMillion: 0.02,
    includedPerMonth: 30_000_000,
    unit: "CPU ms",
    source: WORKERS_PRICING,
    read: READ,
  },
  {
    id: "workflowRequests",
    what: "Workflows invocations (billed as Workers requests; counted per run of an instance)",
    perMillion: 0.3,
    includedPerMonth: 0,
    unit: "invocation",
    source: "https://developers.cloudflare.com/workflows/reference/pricing/",
    read: READ,
    note: "Shares the Workers requests allowance above.",
  },
  {
    id: "workflowCpuMs",
    what: "Workflows CPU milliseconds (sleeping costs none)",
    perMillion: 0.02,
    includedPerMonth: 0,
    unit: "CPU ms",
    source: "https://developers.cloudflare.com/workflows/reference/pricing/",
    read: READ,
    note: "Shares the Workers CPU allowance above.",
  },
];

/** What the same work costs elsewhere, from the peers' published prices. */
export interface Peer {
  name: string;
  /** Dollars per million one-step jobs, where the published prices give a figure. */
  dollarsPerMillion: number | null;
  basis: string;
  included: string;
  source: string;
  read: string;
}

export const PEERS: readonly Peer[] = [
  {
    name: "Upstash QStash (pay as you go)",
    dollarsPerMillion: 10,
    basis: "$1 per 100K messages; one message per one-step job, a three-step job is three",
    included:
      "1,000 messages a day free; retries: the pricing page says free, its FAQ says each retry counts",
    source: "https://upstash.com/pricing/qstash",
    read: READ,
  },
  {
    name: "Inngest (Pro)",
    dollarsPerMillion: null,
    basis: "an execution is a function run or a step: a one-step job is 2 executions, a three-step job 4",
    included:
      "50,000 executions a month free; 1 million on Pro; the overage price was not in the sources read",
    source: "https://www.inngest.com/docs/durable-execution/limits",
    read: READ,
  },
  {
    name: "Trigger.dev (usage)",
    dollarsPerMillion: 25 + 0.0000338 * 0.2 * 1_000_000,
    basis:
      "$0.25 per 10,000 runs plus compute: small-1x at $0.0000338/s for a 200 ms run (a secondary source, not the vendor's page)",
    included: "$5 of usage a month free, $10 on Hobby, $50 on Pro",
    source:
      "https://raw.githubusercontent.com/api-evangelist/trigger-dev/refs/heads/main/plans/trigger-dev-plans-pricing.yml",
    read: READ,
  },
];

export const priceOf = (id: PriceId): Price => {
  const price = PRICES.find((p) => p.id === id);
  if (!price) throw new Error(`No price ${id}`);
  return price;
};
