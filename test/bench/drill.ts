import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { account, violations } from "../../worker/local/accounting.ts";
import { parsePlatformFaults } from "../../worker/local/faults/config.ts";
import { readPlatformFaults } from "../../worker/local/faults/control.ts";
import { startRuntime } from "../../worker/local/runtime.ts";
import type { EventName } from "../../worker/src/events/catalog.ts";
import { client } from "../support/client.ts";
import { legacyProducer } from "../support/legacy-producer.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import { machine } from "./machine.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "./runtimes.ts";

/**
 * `npm run drill`: N events (default 2,000) sent in bursts by producers that behave like the
 * legacy SDK, against a backend that answers 503s, times out, drops connections and refuses some
 * events for good, on a platform that fails too (PLATFORM_FAULTS: createBatch failures and a
 * creation limit, D1 and queue-send failures), with the local runtime killed and restarted on its
 * persisted state mid-run. The platform's faults strike before their effect and after it (the
 * call took effect, its answer was lost). Some delayed events are cancelled by their producer.
 * Ends with an accounting of every dispatched event (one its producer gave up on is missing)
 * and of what /status says of each; exits non-zero on anything that must never happen.
 * `DRILL_BACKEND=process` runs the backend as a separate process, reached over HTTP only.
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
      createLostAnswerRate: 0.05,
      d1LostAnswerRate: 0.01,
      queueSendLostAnswerRate: 0.05,
      seed: 7,
    }),
);
/** One event in this many is delayed and cancelled by its producer before it is due. */
const CANCEL_EVERY = 40;
const CANCEL_DELAY_MS = 60_000;
/** A step whose look at the row came just before the cancel may reach the backend a moment later. */
const UNDER_WAY_MS = 250;
const started = Date.now();
const backend = await openBackend(backendMode(process.env.DRILL_BACKEND), BENCH_TOKEN);
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
  ...(i % CANCEL_EVERY === 11 ? { delayMs: CANCEL_DELAY_MS } : {}),
}));
const toCancel = events.filter((e) => e.delayMs !== undefined);
const permanent = events.filter((_, i) => i % 50 === 7);
for (const e of permanent) await backend.addFault({ eventId: e.id, status: 422, count: 1 });
await backend.addFault({ status: 503, retryAfter: "1", rate: 0.15, count: Math.round(N * 0.3) });
await backend.addFault({ status: 0, reset: true, rate: 0.05, count: Math.round(N * 0.1) });
await backend.addFault({ status: 200, latencyMs: TIMEOUT_MS + 500, rate: 0.03, count: Math.round(N * 0.05) });

let runtime = await start();
const { send, report: producer } = legacyProducer(runtime.url, BENCH_TOKEN);
let peak = 0;
/** Creations and the 429s the platform answered, over every runtime of the run (each starts at 0). */
const creations = { instances: 0, refusals: 0 };
const notePeak = async () => {
  const { stats } = await readPlatformFaults(runtime.url);
  peak = Math.max(peak, stats.peakCreationsPerSecond);
  creations.instances += stats.instances;
  creations.refusals += stats.injected.createRate;
};

/** The producer cancels its delayed events: each acknowledged cancel's time is kept. */
const cancelAcked = new Map<string, number>();
const cancelAnswers: Record<string, number> = {};
async function cancelDelayed(list: readonly { id: string }[]) {
  for (const { id } of list)
    for (let attempt = 0; attempt < 8 && !cancelAcked.has(id); attempt++) {
      const response = await fetch(`${runtime.url}/events/${id}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
        signal: AbortSignal.timeout(10_000),
      }).catch((error: Error) => error);
      const body =
        response instanceof Response
          ? ((await response.json().catch(() => ({}))) as { status?: string; error?: string })
          : undefined;
      const answer =
        response instanceof Response
          ? `${response.status}${body?.error ? ` ${body.error}` : ""}`
          : response.name;
      cancelAnswers[answer] = (cancelAnswers[answer] ?? 0) + 1;
      if (body?.status === "cancelled") cancelAcked.set(id, Date.now());
      // Refused (the event is delivered, say): final. An answer not read in time is asked again.
      else if (response instanceof Response && response.status < 500 && body?.error !== undefined) break;
      else await new Promise((r) => setTimeout(r, 500));
    }
}

// Bursts of concurrent 100-event requests, a few seconds apart.
const perBurst = Math.ceil(N / BURSTS);
for (let b = 0; b < BURSTS; b++) {
  const burst = events.slice(b * perBurst, (b + 1) * perBurst);
  const requests = [];
  // Each request's delayed events are cancelled as soon as it is answered.
  for (let i = 0; i < burst.length; i += 100) {
    const batch = burst.slice(i, i + 100);
    requests.push(
      send(batch).then(() =>
        cancelDelayed(batch.filter((e) => e.delayMs !== undefined && producer.accepted.has(e.id))),
      ),
    );
  }
  await Promise.all(requests);
  if (b < BURSTS - 1) await new Promise((r) => setTimeout(r, 3000));
}
const dispatchedAt = Date.now();
console.log(
  `dispatched ${N} events in ${BURSTS} bursts in ${((dispatchedAt - started) / 1000).toFixed(1)} s: ${producer.accepted.size} accepted, ${producer.itemErrors.size} per-item errors, ${producer.resends} re-sent requests`,
);

// Kill the runtime once about 40% of the work is done, then start it again on the same state.
const performed = async () => (await backend.calls()).filter((c) => c.performed).length;
while ((await performed()) < N * 0.4) await new Promise((r) => setTimeout(r, 250));
const killedAt = await performed();
await notePeak();
await runtime.close();
await new Promise((r) => setTimeout(r, 1000));
const restartStarted = Date.now();
runtime = await start();
const restartSeconds = (Date.now() - restartStarted) / 1000;
console.log(
  `restarted the runtime after ${killedAt} performed calls (${restartSeconds.toFixed(1)} s to serve again)`,
);

// Every dispatched event is accounted for: one its producer gave up on is missing too. The
// cancelled ones end cancelled, the rest delivered or dead.
// A cancel that was asked but not acknowledged may have landed: such an event ends delivered or
// cancelled, and is accounted below by what /status says.
const accepted = events.filter((e) => producer.accepted.has(e.id) && e.delayMs === undefined);
const unacknowledged = toCancel.filter((e) => producer.accepted.has(e.id) && !cancelAcked.has(e.id));
const givenUp = events.filter((e) => !producer.accepted.has(e.id));
const operator = () => client(runtime.url, { producer: BENCH_TOKEN, operator: BENCH_OPERATOR_TOKEN });
let result = account(accepted, await backend.calls(), await operator().failed("dead"));
const deadline = Date.now() + 10 * 60_000;
while (result.missing.length > 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 1000));
  result = account(accepted, await backend.calls(), await operator().failed("dead"));
}
const drainSeconds = Math.round((Date.now() - dispatchedAt) / 1000);
await notePeak();
const recovered = await operator().failed("delivered");

// What /status says of each, against what happened: delivered → complete, dead → dead, cancelled.
const calls = await backend.calls();
const deadIds = await operator().failed("dead");
const unacknowledgedIds = new Set(unacknowledged.map((e) => e.id));
const expectedStatus = (id: string) =>
  cancelAcked.has(id)
    ? "cancelled"
    : deadIds.has(id)
      ? "dead"
      : result.missing.includes(id) || unacknowledgedIds.has(id)
        ? undefined
        : "complete";
/** What /status says, as a producer polls it: a 5xx (the store failing under faults) is asked again. */
async function statusOf(id: string): Promise<string> {
  let status = "no answer";
  for (let attempt = 0; attempt < 10; attempt++) {
    const response = await fetch(`${runtime.url}/status/${id}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as
      | { status?: string; error?: string }
      | undefined;
    status = response?.ok && body?.status ? body.status : `HTTP ${response?.status}: ${body?.error}`;
    if (response !== undefined && response.status < 500 && body !== undefined) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return status;
}
const falseStatuses: string[] = [];
const byId = [...producer.accepted];
for (let i = 0; i < byId.length; i += 20)
  await Promise.all(
    byId.slice(i, i + 20).map(async (id) => {
      const wanted = expectedStatus(id);
      if (wanted === undefined) return;
      const status = await statusOf(id);
      if (status !== wanted) falseStatuses.push(`${id}: ${status}, not ${wanted}`);
    }),
  );
// An event whose cancel went unacknowledged ends delivered or cancelled, and says which.
for (const { id } of unacknowledged) {
  const status = await statusOf(id);
  if (status !== "complete" && status !== "cancelled")
    falseStatuses.push(`${id} (cancel unacknowledged): ${status}, not complete or cancelled`);
}
const afterCancel = calls.filter((c) => {
  const acked = cancelAcked.get(c.eventId);
  return acked !== undefined && c.at > acked + UNDER_WAY_MS;
});
await runtime.close();
await backend.close();
await rm(state, { recursive: true, force: true });

const backendFaults: Record<string, number> = {};
for (const call of calls) if (call.fault) backendFaults[call.fault] = (backendFaults[call.fault] ?? 0) + 1;
const problems = [
  ...violations(result),
  ...(givenUp.length ? [`${givenUp.length} dispatched events never accepted (their producers gave up)`] : []),
  ...(falseStatuses.length
    ? [`${falseStatuses.length} false statuses: ${falseStatuses.slice(0, 3).join("; ")}`]
    : []),
  ...(afterCancel.length ? [`${afterCancel.length} backend calls after an acknowledged cancel`] : []),
  ...(unacknowledged.length ? [`${unacknowledged.length} cancels of accepted events not acknowledged`] : []),
  ...(producer.itemErrors.size ? [`${producer.itemErrors.size} per-item errors from platform trouble`] : []),
  ...(peak > CREATION_LIMIT ? [`peak creation rate ${peak}/s above the limit ${CREATION_LIMIT}/s`] : []),
];
const report = {
  machine: machine(),
  seconds: Math.round((Date.now() - started) / 1000),

  platformFaults,
  backend: backend.mode,
  dispatched: N,
  givenUp: givenUp.length,
  cancelled: {
    asked: toCancel.length,
    acknowledged: cancelAcked.size,
    answers: cancelAnswers,
    callsAfter: afterCancel.length,
  },
  falseStatuses: falseStatuses.length,
  falseStatusSamples: falseStatuses.slice(0, 10),
  redundantCallsPer1000: Number(((result.redundantDeliveries / N) * 1000).toFixed(1)),
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
  refusalsPer1000Creations: Number(
    ((creations.refusals / Math.max(1, creations.instances)) * 1000).toFixed(1),
  ),
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
  `Drill ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores): ${N} events in ${BURSTS} bursts from legacy-SDK producers (${toCancel.length} of them delayed and cancelled), backend ${backend.mode}, platform faults ${JSON.stringify(platformFaults)}, runtime restarted after ${killedAt} performed calls, ${report.seconds} s in all.`,
  "",
  "| dispatched | accepted | delivered | dead (reason) | cancelled | missing (given up) | delivered and dead | false statuses | calls after a cancel | per-item errors from platform faults | peak creations/s (limit) | 429s per 1,000 creations | time to drain | redundant calls per 1,000 | via recovery queue |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  `| ${N} | ${producer.accepted.size} | ${result.delivered} | ${result.dead} (${list(result.deadReasons)}) | ${cancelAcked.size} | ${result.missing.length + givenUp.length} (${givenUp.length}) | ${result.deliveredAndDead.length} | ${falseStatuses.length} | ${afterCancel.length} | ${producer.itemErrors.size} | ${peak} (${CREATION_LIMIT}) | ${report.refusalsPer1000Creations} | ${drainSeconds} s | ${report.redundantCallsPer1000} | ${recovered.size} |`,
  "",
  `Producers: ${list(producer.statuses)} answers; ${producer.resends} requests re-sent whole, ${producer.abandonedBatches} batches given up. Backend: ${result.calls} calls, ${result.failedCalls} failed (${list(backendFaults)}). Redundant deliveries are 2xx answers beyond the first per Idempotency-Key: what a backend that does not deduplicate would have performed twice.`,
  "",
  problems.length
    ? `FAILED: ${problems.join("; ")}`
    : "Nothing lost (every dispatched event accepted), nothing both delivered and dead, no false status, no step after a cancel, every key the event's own.",
  "",
].join("\n");
const results = join(import.meta.dirname, "results");
await mkdir(results, { recursive: true });
const file = backend.mode === "process" ? "drill-backend-process" : "drill";
await writeFile(join(results, `${file}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, `${file}.md`), markdown);
console.log(`\n${markdown}\nwrote test/bench/results/${file}.{json,md}`);
if (problems.length > 0 || accepted.length === 0) process.exit(1);
