import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startRuntime } from "../../worker/local/runtime.ts";
import { client } from "../support/client.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import type { CostContext } from "./cost/context.ts";
import { markdown } from "./cost/markdown.ts";
import { measureScenarios } from "./cost/measure.ts";
import { costReport } from "./cost/report.ts";
import { SCENARIOS } from "./cost/scenarios.ts";
import { scheduledCosts } from "./cost/scheduled.ts";
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

const ctx: CostContext = {
  backend,
  url: runtime.url,
  producer: client(runtime.url, { producer: BENCH_TOKEN, operator: BENCH_OPERATOR_TOKEN }),
};
try {
  const { rows, lastDispatch } = await measureScenarios(ctx, SCENARIOS);
  const { tail, fixed } = await scheduledCosts(ctx.url, rows, lastDispatch);
  const report = costReport(backend.mode, rows, tail, fixed);
  const dir = join(import.meta.dirname, "results");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "cost.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, "cost.md"), markdown(report));
  console.log(markdown(report));
} finally {
  await runtime.close();
  await backend.close();
}
