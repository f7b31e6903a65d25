import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startRuntime } from "../../worker/local/runtime.ts";
import { CREATION, RECONCILER } from "../../worker/src/topology.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import { type FlowSizes, idle, loaded } from "./flow/scenario.ts";
import { type LimitPeak, limitPeaks } from "./limit-peaks.ts";
import { machine } from "./machine.ts";
import { BENCH_TOKEN } from "./runtimes.ts";

/**
 * `npm run bench -- --scenario flow`: a one-time code behind a campaign. One tenant dispatches
 * 5,000 bulk events; a second later 50 people ask for a password reset and a second tenant
 * dispatches 100 bulk events. Reports the interactive events' dispatch-to-first-callback beside
 * the same on an idle system, and where the small tenant's bulk finished against the big one's.
 * The worker runs as `npm run dev` runs it (local Workflows engine, the reconciler every minute);
 * FLOW_BACKEND=process puts the reference backend in a process of its own. Writes
 * test/bench/results/flow.{json,md} (flow-backend-process.{json,md} with the backend apart).
 */
const scale = Number(process.env.FLOW_SCALE ?? 1);
const sizes: FlowSizes = {
  bigBulk: Math.round(5000 * scale),
  smallBulk: Math.round(100 * scale),
  interactive: Math.max(2, Math.round(50 * scale)),
  batch: 100,
};

/**
 * The backend's limits during the run (`FLOW_BACKEND_LIMITS`, BACKEND_LIMITS' JSON): the bulk
 * path at 50 a second, and 50 calls in flight for the whole backend, which interactive calls share.
 */
const limits =
  process.env.FLOW_BACKEND_LIMITS ??
  JSON.stringify({ "notification/create": { perSecond: 50 }, "*": { inFlight: 50 } });

const backend = await openBackend(backendMode(process.env.FLOW_BACKEND), BENCH_TOKEN);
const runtime = await startRuntime({
  authToken: BENCH_TOKEN,
  backendUrl: backend.url,
  dispatchRateLimit: 1_000_000,
  tenantRateLimit: 1_000_000,
  vars: { BACKEND_LIMITS: limits },
  scheduledIntervalMs: RECONCILER.localIntervalSeconds * 1000,
  onLog: () => {},
});
const started = Date.now();
let report: Record<string, unknown>;
try {
  console.log(`idle: ${sizes.interactive} interactive events alone`);
  const quiet = await idle(runtime.url, backend, sizes);
  console.log(
    `loaded: ${sizes.bigBulk} bulk, then ${sizes.interactive} interactive and ${sizes.smallBulk} bulk`,
  );
  const busy = await loaded(runtime.url, backend, sizes);
  const calls = (await backend.calls()).filter((c) => c.eventId.startsWith("flow_"));
  report = {
    machine: machine(),
    backend: backend.mode,
    sizes,
    pacePerSecond: CREATION.perSecond,
    idle: quiet,
    loaded: {
      interactive: busy.interactive,
      drainMs: busy.drainMs,
      smallDoneMs: busy.smallDoneMs,
      bigShareWhenSmallDone: busy.bigShareWhenSmallDone,
      missing: busy.missing,
    },
    backendLimits: limits,
    limitPeaks: limitPeaks(limits, calls),
    interactiveP99OverDrain: busy.interactive.p99 / busy.drainMs,
    interactiveP99OverIdle: busy.interactive.p99 / quiet.p99,
    seconds: Math.round((Date.now() - started) / 1000),
  };
} finally {
  await runtime.close();
  await backend.close();
}

const r = report as {
  machine: ReturnType<typeof machine>;
  idle: { p50: number; p99: number };
  loaded: {
    interactive: { p50: number; p99: number };
    drainMs: number;
    smallDoneMs: number;
    bigShareWhenSmallDone: number;
    missing: number;
  };
  interactiveP99OverDrain: number;
  interactiveP99OverIdle: number;
  limitPeaks: LimitPeak[];
  seconds: number;
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const markdown = [
  `Measured ${r.machine.date} on ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.machine.node}, workerd ${r.machine.workerd}; local Workflows engine, reference backend ${backend.mode}, creation pace ${CREATION.perSecond}/s.`,
  "",
  "| | p50 | p99 |",
  "|---|---|---|",
  `| ${sizes.interactive} interactive events, idle system | ${s(r.idle.p50)} | ${s(r.idle.p99)} |`,
  `| the same, behind ${sizes.bigBulk} bulk events of one tenant | ${s(r.loaded.interactive.p50)} | ${s(r.loaded.interactive.p99)} |`,
  "",
  `- The ${sizes.bigBulk} bulk events drained in ${s(r.loaded.drainMs)}: interactive p99 / drain = ${r.interactiveP99OverDrain.toFixed(3)} (target ≤ 0.1); interactive p99 / idle p99 = ${r.interactiveP99OverIdle.toFixed(2)} (target ≤ 2).`,
  `- The small tenant's ${sizes.smallBulk} bulk events were done ${s(r.loaded.smallDoneMs)} after the big tenant's first request, when ${(r.loaded.bigShareWhenSmallDone * 100).toFixed(1)} % of the big tenant's had been called (target < 25 %).`,
  `- Backend limits ${limits}: ${r.limitPeaks.map((p) => `${p.path} got at most ${p.busiestSecond} calls in one second (limit ${p.limit})`).join("; ") || "no perSecond limit"}.`,
  `- Events that never reached the backend: ${r.loaded.missing}.`,
  "",
].join("\n");

const results = join(import.meta.dirname, "results");
await mkdir(results, { recursive: true });
const file = backend.mode === "process" ? "flow-backend-process" : "flow";
await writeFile(join(results, `${file}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, `${file}.md`), markdown);
console.log(`\n${markdown}\nwrote test/bench/results/${file}.{json,md} in ${r.seconds} s`);
if (r.loaded.missing > 0 || r.limitPeaks.some((p) => p.busiestSecond > p.limit)) process.exitCode = 1;
