import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { account, violations } from "../../worker/local/accounting.ts";
import { startBackend } from "../../worker/local/backend.ts";
import { parsePlatformFaults } from "../../worker/local/faults/config.ts";
import { readPlatformFaults } from "../../worker/local/faults/control.ts";
import { startRuntime } from "../../worker/local/runtime.ts";
import type { EventName } from "../../worker/src/events/catalog.ts";
import { client } from "../support/client.ts";
import { legacyProducer } from "../support/legacy-producer.ts";
import { machine } from "./machine.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "./runtimes.ts";

/**
 * `npm run drill`: N events (default 2,000) sent in bursts by producers that behave like the
 * legacy SDK, against a backend that answers 503s, times out, drops connections and refuses some
 * events for good, on a platform that fails too (PLATFORM_FAULTS: createBatch failures and a
 * creation limit, D1 and queue-send failures), with the local runtime killed and restarted on its
 * persisted state mid-run. Ends with an accounting of every accepted event; exits non-zero on
 * anything that must never happen.
 */
const N = Number(process.env.DRILL_EVENTS ?? 2000);
const BURSTS = 4;
const TIMEOUT_MS = 1000;
const CREATION_LIMIT = 100;
const platformFaults = parsePlatformFaults(
  process.env.PLATFORM_FAULTS ??
    JSON.stringify({
      createRatePerSecond: CREATION_LIMIT,
      createFailRate: 0.05,
      d1FailRate: 0.02,
      queueSendFailRate: 0.1,
      seed: 7,
    }),
);
const started = Date.now();
const backend = await startBackend({ token: BENCH_TOKEN });
const state = await mkdtemp(join(tmpdir(), "jobs-drill-"));
const start = () =>
  startRuntime({
    authToken: BENCH_TOKEN,
    operatorToken: BENCH_OPERATOR_TOKEN,
    backendUrl: backend.url,
    dispatchRateLimit: 1_000_000,
    retryDelayScale: 0.001,
    vars: { BACKEND_TIMEOUT_MS: String(TIMEOUT_MS) },
    persistTo: state,
    platformFaults,
    scheduledIntervalMs: 2000,
    onLog: () => {},
  });

const names: EventName[] = [
  "email/reset-password",
  "payment/process-payout",
  "notification/create",
  "whatsapp/send-template",
];
const events = Array.from({ length: N }, (_, i) => ({
  id: `drill_${i}`,
  name: names[i % names.length] as EventName,
}));
const permanent = events.filter((_, i) => i % 50 === 7);
for (const e of permanent) backend.addFault({ eventId: e.id, status: 422, count: 1 });
backend.addFault({ status: 503, retryAfter: "1", rate: 0.15, count: Math.round(N * 0.3) });
backend.addFault({ status: 0, reset: true, rate: 0.05, count: Math.round(N * 0.1) });
backend.addFault({ status: 200, latencyMs: TIMEOUT_MS + 500, rate: 0.03, count: Math.round(N * 0.05) });

let runtime = await start();
const { send, report: producer } = legacyProducer(runtime.url, BENCH_TOKEN);
let peak = 0;
const notePeak = async () => {
  peak = Math.max(peak, (await readPlatformFaults(runtime.url)).stats.peakCreationsPerSecond);
};

// Bursts of concurrent 100-event requests, a few seconds apart.
const perBurst = Math.ceil(N / BURSTS);
for (let b = 0; b < BURSTS; b++) {
  const burst = events.slice(b * perBurst, (b + 1) * perBurst);
  const requests = [];
  for (let i = 0; i < burst.length; i += 100) requests.push(send(burst.slice(i, i + 100)));
  await Promise.all(requests);
  if (b < BURSTS - 1) await new Promise((r) => setTimeout(r, 3000));
}
const dispatchedAt = Date.now();
console.log(
  `dispatched ${N} events in ${BURSTS} bursts in ${((dispatchedAt - started) / 1000).toFixed(1)} s: ${producer.accepted.size} accepted, ${producer.itemErrors.size} per-item errors, ${producer.resends} re-sent requests`,
);

// Kill the runtime once about 40% of the work is done, then start it again on the same state.
const performed = () => backend.calls.filter((c) => c.performed).length;
while (performed() < N * 0.4) await new Promise((r) => setTimeout(r, 50));
const killedAt = performed();
await notePeak();
await runtime.close();
await new Promise((r) => setTimeout(r, 1000));
const restartStarted = Date.now();
runtime = await start();
const restartSeconds = (Date.now() - restartStarted) / 1000;
console.log(
  `restarted the runtime after ${killedAt} performed calls (${restartSeconds.toFixed(1)} s to serve again)`,
);

const accepted = events.filter((e) => producer.accepted.has(e.id));
const operator = () => client(runtime.url, { producer: BENCH_TOKEN, operator: BENCH_OPERATOR_TOKEN });
let result = account(accepted, backend.calls, await operator().failed("dead"));
const deadline = Date.now() + 10 * 60_000;
while (result.missing.length > 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 1000));
  result = account(accepted, backend.calls, await operator().failed("dead"));
}
const drainSeconds = Math.round((Date.now() - dispatchedAt) / 1000);
await notePeak();
const recovered = await operator().failed("delivered");
await runtime.close();
await backend.close();
await rm(state, { recursive: true, force: true });

const backendFaults: Record<string, number> = {};
for (const call of backend.calls)
  if (call.fault) backendFaults[call.fault] = (backendFaults[call.fault] ?? 0) + 1;
const problems = [
  ...violations(result),
  ...(producer.itemErrors.size ? [`${producer.itemErrors.size} per-item errors from platform trouble`] : []),
  ...(peak > CREATION_LIMIT ? [`peak creation rate ${peak}/s above the limit ${CREATION_LIMIT}/s`] : []),
];
const report = {
  machine: machine(),
  seconds: Math.round((Date.now() - started) / 1000),

  platformFaults,
  restartAfterPerformedCalls: killedAt,
  restartSeconds,
  producer: {
    accepted: producer.accepted.size,
    perItemErrors: producer.itemErrors.size,
    perItemErrorSamples: [...producer.itemErrors.values()].slice(0, 5),
    resentRequests: producer.resends,
    abandonedBatches: producer.abandonedBatches,
    statuses: producer.statuses,
  },
  peakCreationsPerSecond: peak,
  drainSeconds,
  backendFaults,
  deliveredThroughRecoveryQueue: recovered.size,
  ...result,
  missing: result.missing.length,
  missingIds: result.missing.slice(0, 20),
  deliveredAndDead: result.deliveredAndDead.length,
  problems,
};
const list = (entries: Record<string, number>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ") || "none";
const markdown = [
  `Drill ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores): ${N} events in ${BURSTS} bursts from legacy-SDK producers, platform faults ${JSON.stringify(platformFaults)}, runtime restarted after ${killedAt} performed calls, ${report.seconds} s in all.`,
  "",
  "| accepted | delivered | dead (reason) | missing | delivered and dead | per-item errors from platform faults | peak creations/s (limit) | time to drain | redundant deliveries | via recovery queue |",
  "|---|---|---|---|---|---|---|---|---|---|",
  `| ${accepted.length} | ${result.delivered} | ${result.dead} (${list(result.deadReasons)}) | ${result.missing.length} | ${result.deliveredAndDead.length} | ${producer.itemErrors.size} | ${peak} (${CREATION_LIMIT}) | ${drainSeconds} s | ${result.redundantDeliveries} | ${recovered.size} |`,
  "",
  `Producers: ${list(producer.statuses)} answers; ${producer.resends} requests re-sent whole, ${producer.abandonedBatches} batches given up. Backend: ${result.calls} calls, ${result.failedCalls} failed (${list(backendFaults)}). Redundant deliveries are 2xx answers beyond the first per Idempotency-Key: what a backend that does not deduplicate would have performed twice.`,
  "",
  problems.length
    ? `FAILED: ${problems.join("; ")}`
    : "Nothing lost, nothing both delivered and dead, every key the event's own.",
  "",
].join("\n");
const results = join(import.meta.dirname, "results");
await mkdir(results, { recursive: true });
await writeFile(join(results, "drill.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, "drill.md"), markdown);
console.log(`\n${markdown}\nwrote test/bench/results/drill.{json,md}`);
if (problems.length > 0 || accepted.length === 0) process.exit(1);
