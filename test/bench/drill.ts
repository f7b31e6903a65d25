import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client } from "../support/client.ts";
import { legacyProducer } from "../support/legacy-producer.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import { dispatchInBursts } from "./drill/bursts.ts";
import type { Cancels } from "./drill/cancels.ts";
import { type Creations, notePeak } from "./drill/creations.ts";
import { drain } from "./drill/drain.ts";
import { drillEvents, injectFaults } from "./drill/events.ts";
import { markdown } from "./drill/markdown.ts";
import { drillReport } from "./drill/report.ts";
import { restartMidway } from "./drill/restart.ts";
import { startDrillRuntime } from "./drill/runtime.ts";
import { BACKEND_LIMITS, BURSTS, N, UNDER_WAY_MS } from "./drill/settings.ts";
import { falseStatuses as falseStatusesOf } from "./drill/statuses.ts";
import { limitPeaks } from "./limit-peaks.ts";
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
const started = Date.now();
const backend = await openBackend(backendMode(process.env.DRILL_BACKEND), BENCH_TOKEN);
const state = await mkdtemp(join(tmpdir(), "jobs-drill-"));
const start = () => startDrillRuntime(backend.url, state);

const events = drillEvents(N);
const toCancel = events.filter((e) => e.delayMs !== undefined);
await injectFaults(backend, events);

let runtime = await start();
const { send, report: producer } = legacyProducer(runtime.url, BENCH_TOKEN);
const creations: Creations = { peak: 0, instances: 0, refusals: 0 };
const cancels: Cancels = { acked: new Map(), answers: {} };

await dispatchInBursts(runtime.url, events, BURSTS, { send, report: producer }, cancels);
const dispatchedAt = Date.now();
console.log(
  `dispatched ${N} events in ${BURSTS} bursts in ${((dispatchedAt - started) / 1000).toFixed(1)} s: ${producer.accepted.size} accepted, ${producer.itemErrors.size} per-item errors, ${producer.resends} re-sent requests`,
);

// Kill the runtime once about 40% of the work is done, then start it again on the same state.
const restart = await restartMidway(backend, runtime, start, N * 0.4, creations);
runtime = restart.runtime;

// Every dispatched event is accounted for: one its producer gave up on is missing too. The
// cancelled ones end cancelled, the rest delivered or dead.
// A cancel that was asked but not acknowledged may have landed: such an event ends delivered or
// cancelled, and is accounted below by what /status says.
const accepted = events.filter((e) => producer.accepted.has(e.id) && e.delayMs === undefined);
const unacknowledged = toCancel.filter((e) => producer.accepted.has(e.id) && !cancels.acked.has(e.id));
const givenUp = events.filter((e) => !producer.accepted.has(e.id));
const url = runtime.url;
const operator = () => client(url, { producer: BENCH_TOKEN, operator: BENCH_OPERATOR_TOKEN });
const result = await drain(backend, operator, accepted);
const drainSeconds = Math.round((Date.now() - dispatchedAt) / 1000);
await notePeak(url, creations);
const recovered = await operator().failed("delivered");

// What /status says of each, against what happened: delivered → complete, dead → dead, cancelled.
const calls = await backend.calls();
const deadIds = await operator().failed("dead");
const unacknowledgedIds = new Set(unacknowledged.map((e) => e.id));
const expectedStatus = (id: string) =>
  cancels.acked.has(id)
    ? "cancelled"
    : deadIds.has(id)
      ? "dead"
      : result.missing.includes(id) || unacknowledgedIds.has(id)
        ? undefined
        : "complete";
const falseStatuses = await falseStatusesOf(url, [...producer.accepted], expectedStatus, unacknowledged);
const afterCancel = calls.filter((c) => {
  const acked = cancels.acked.get(c.eventId);
  return acked !== undefined && c.at > acked + UNDER_WAY_MS;
});
await runtime.close();
await backend.close();
await rm(state, { recursive: true, force: true });

const report = drillReport({
  started,
  backend: backend.mode,
  result,
  calls,
  producer,
  givenUp: givenUp.length,
  toCancel: toCancel.length,
  cancels,
  unacknowledged: unacknowledged.length,
  afterCancel: afterCancel.length,
  falseStatuses,
  killedAt: restart.killedAt,
  restartSeconds: restart.restartSeconds,
  creations,
  drainSeconds,
  deliveredThroughRecoveryQueue: recovered.size,
  ...(BACKEND_LIMITS
    ? { limits: { backendLimits: BACKEND_LIMITS, peaks: limitPeaks(BACKEND_LIMITS, calls) } }
    : {}),
});
const text = markdown(report);
const results = join(import.meta.dirname, "results");
await mkdir(results, { recursive: true });
const file = `${backend.mode === "process" ? "drill-backend-process" : "drill"}${BACKEND_LIMITS ? "-limits" : ""}`;
await writeFile(join(results, `${file}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(results, `${file}.md`), text);
console.log(`\n${text}\nwrote test/bench/results/${file}.{json,md}`);
if (report.problems.length > 0 || accepted.length === 0) process.exit(1);
