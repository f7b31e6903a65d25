import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { account } from "../../worker/local/accounting.ts";
import { startBackend } from "../../worker/local/backend.ts";
import type { EventName } from "../../worker/src/events/catalog.ts";
import { client } from "../support/client.ts";
import { machine } from "./machine.ts";
import { BENCH_TOKEN, startJobs } from "./runtimes.ts";

/**
 * `npm run drill`: N events (default 1,000) against a backend that answers 503s, times out,
 * drops connections and refuses some events for good, with the local runtime killed and
 * restarted on its persisted state mid-run. Ends with an accounting: every event delivered once
 * or dead with its reason, no side effect twice, none missing. Exits non-zero otherwise.
 */
const N = Number(process.env.DRILL_EVENTS ?? 1000);
const TIMEOUT_MS = 1000;
const started = Date.now();
const backend = await startBackend({ token: BENCH_TOKEN });
const state = await mkdtemp(join(tmpdir(), "jobs-drill-"));
const start = () => startJobs(backend.url, state, { BACKEND_TIMEOUT_MS: String(TIMEOUT_MS) }, 0.001);
const restartStarted = { at: 0 };

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
await client(runtime.url, BENCH_TOKEN).dispatchAll(events);
console.log(`dispatched ${N} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);

// Kill the runtime once about 40% of the work is done, then start it again on the same state.
const performed = () => backend.calls.filter((c) => c.performed).length;
while (performed() < N * 0.4) await new Promise((r) => setTimeout(r, 50));
const killedAt = performed();
await runtime.close();
await new Promise((r) => setTimeout(r, 1000));
restartStarted.at = Date.now();
runtime = await start();
const restartSeconds = (Date.now() - restartStarted.at) / 1000;
console.log(
  `restarted the runtime after ${killedAt} performed calls (${restartSeconds.toFixed(1)} s to serve again)`,
);

const failedEvents = (status: "dead" | "delivered") => client(runtime.url, BENCH_TOKEN).failed(status);

let result = account(events, backend.calls, await failedEvents("dead"));
const deadline = Date.now() + 8 * 60_000;
while (result.missing.length > 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 1000));
  result = account(events, backend.calls, await failedEvents("dead"));
}
const recovered = await failedEvents("delivered");
await runtime.close();
await backend.close();
await rm(state, { recursive: true, force: true });

const faults: Record<string, number> = {};
for (const call of backend.calls) if (call.fault) faults[call.fault] = (faults[call.fault] ?? 0) + 1;
const report = {
  machine: machine(),
  seconds: Math.round((Date.now() - started) / 1000),
  restartAfterPerformedCalls: killedAt,
  restartSeconds,
  injectedFaults: faults,
  deliveredThroughRecoveryQueue: recovered.size,
  ...result,
  missing: result.missing.length,
  missingIds: result.missing.slice(0, 20),
};
const markdown = [
  `Drill ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores): ${N} events, runtime restarted after ${killedAt} performed calls, ${report.seconds} s.`,
  "",
  "| delivered once | dead (reason) | duplicates | missing | backend calls | failed calls | injected faults | via recovery queue |",
  "|---|---|---|---|---|---|---|---|",
  `| ${result.delivered} | ${result.dead} (${
    Object.entries(result.deadReasons)
      .map(([r, c]) => `${r}: ${c}`)
      .join(", ") || "none"
  }) | ${result.duplicates} | ${result.missing.length} | ${result.calls} | ${result.failedCalls} | ${Object.entries(
    faults,
  )
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")} | ${recovered.size} |`,
  "",
  `Duplicates counts Idempotency-Keys the backend performed twice; ${result.redundantCalls} calls repeated a key already performed (after a timeout or the restart) and were answered without doing the work again.`,
  "",
].join("\n");
const results = join(import.meta.dirname, "results");
await mkdir(results, { recursive: true });
await writeFile(join(results, "drill.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, "drill.md"), markdown);
console.log(`\n${markdown}\nwrote test/bench/results/drill.{json,md}`);
if (result.missing.length > 0 || result.duplicates > 0 || result.delivered + result.dead !== N)
  process.exit(1);
