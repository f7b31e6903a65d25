import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startBackend } from "../../worker/local/backend.ts";
import { admissionCost } from "./admission.ts";
import { bundleCost } from "./bundle-size.ts";
import { chart } from "./chart.ts";
import { type LoadResult, load } from "./load.ts";
import { machine } from "./machine.ts";
import { BENCH_TOKEN, startFloor, startJobs } from "./runtimes.ts";

/**
 * `npm run bench`: throughput and latency of the real worker in workerd against the floor, the
 * CPU of admission, and the bundle's size and startup. Writes test/bench/results/bench.{json,md,svg}.
 * `npm run bench -- --scenario flow` runs the flow-control scenario instead (flow.ts).
 */
const scenario = process.argv[process.argv.indexOf("--scenario") + 1];
if (process.argv.includes("--scenario")) {
  if (scenario !== "flow")
    throw new Error(`unknown scenario ${JSON.stringify(scenario)}: the one there is is flow`);
  await import("./flow.ts");
  process.exit();
}
const SIZES = [
  { batchSize: 1, events: 200 },
  { batchSize: 10, events: 500 },
  { batchSize: 100, events: 1000 },
];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const results = join(import.meta.dirname, "results");

const backend = await startBackend({ token: BENCH_TOKEN });
const started = Date.now();
const median = (values: LoadResult[]) => {
  const by = (f: (r: LoadResult) => number) =>
    values.map(f).sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const first = values[0] as LoadResult;
  return {
    ...first,
    acceptedPerSecond: by((r) => r.acceptedPerSecond),
    deliveredPerSecond: by((r) => r.deliveredPerSecond),
    latencyMs: {
      p50: by((r) => r.latencyMs.p50),
      p95: by((r) => r.latencyMs.p95),
      p99: by((r) => r.latencyMs.p99),
    },
  };
};

const rows: { ours: LoadResult; floor: LoadResult; ratio: number }[] = [];
for (const { batchSize, events } of SIZES) {
  const runs: Record<"ours" | "floor", LoadResult[]> = { ours: [], floor: [] };
  // Alternate floor and worker, each on a fresh runtime, so drift hits both alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of ["floor", "ours"] as const) {
      const runtime = variant === "floor" ? await startFloor(backend.url) : await startJobs(backend.url);
      try {
        await load(runtime.url, backend, `warm_${variant}_${batchSize}_${round}`, batchSize, batchSize * 2);
        runs[variant].push(
          await load(runtime.url, backend, `${variant}_${batchSize}_${round}`, batchSize, events),
        );
      } finally {
        await runtime.close();
      }
      console.log(
        `batch ${batchSize} ${variant} round ${round + 1}/${ROUNDS}: ${Math.round(runs[variant].at(-1)?.acceptedPerSecond ?? 0)} accepted/s`,
      );
    }
  }
  const ours = median(runs.ours);
  const floor = median(runs.floor);
  rows.push({ ours, floor, ratio: ours.acceptedPerSecond / floor.acceptedPerSecond });
}
await backend.close();

const admission = await admissionCost();
const bundle = await bundleCost();
const report = {
  machine: machine(),
  rounds: ROUNDS,
  seconds: Math.round((Date.now() - started) / 1000),
  load: rows,
  admission,
  bundle,
};

const n = (v: number, digits = 0) => v.toFixed(digits);
const markdown = [
  `Measured ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.memoryGiB} GiB), Node ${report.machine.node}, workerd ${report.machine.workerd}; median of ${ROUNDS} rounds, local Workflows engine.`,
  "",
  "| batch | events | accepted/s (jobs) | accepted/s (floor) | ratio | delivered/s (jobs) | delivered/s (floor) | latency p50 / p95 / p99 ms (jobs) |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.ours.batchSize} | ${r.ours.events} | ${n(r.ours.acceptedPerSecond)} | ${n(r.floor.acceptedPerSecond)} | ${n(r.ratio, 2)} | ${n(r.ours.deliveredPerSecond)} | ${n(r.floor.deliveredPerSecond)} | ${n(r.ours.latencyMs.p50)} / ${n(r.ours.latencyMs.p95)} / ${n(r.ours.latencyMs.p99)} |`,
  ),
  "",
  `| admission CPU, 100-event batch | per event | bundle | gzipped | module evaluation p50 / p95 |`,
  "|---|---|---|---|---|",
  `| ${n(admission.batchMs, 2)} ms | ${n(admission.perEventUs, 1)} µs | ${n(bundle.bytes / 1024, 1)} KiB | ${n(bundle.gzipBytes / 1024, 1)} KiB | ${n(bundle.startupMs.p50, 1)} / ${n(bundle.startupMs.p95, 1)} ms |`,
  "",
].join("\n");

await mkdir(results, { recursive: true });
await writeFile(join(results, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, "bench.md"), markdown);
await writeFile(join(results, "bench.svg"), chart(rows));
console.log(`\n${markdown}\nwrote test/bench/results/bench.{json,md,svg} in ${report.seconds} s`);
