import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Call, Fault } from "../../worker/local/backend.ts";
import type { PlatformFaults } from "../../worker/local/faults/config.ts";
import { startRuntime } from "../../worker/local/runtime.ts";
import { defaultBase, NoBaseReleaseError } from "../../worker/release/base.ts";
import { type EventName, stepsOf } from "../../worker/src/events/catalog.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { backendMode, openBackend } from "./backend-process.ts";
import { machine } from "./machine.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "./runtimes.ts";

/**
 * `npm run upgrade-drill [REF]`: can a release be deployed over work in flight, and rolled back?
 * Release REF (default: the release this change meets, as `npm run check-release` picks it)
 * runs from its own exported tree on fresh persisted state; work is put in every state
 * (accepted and not created, sleeping until a time after the switch, a payout between steps,
 * retrying on the recovery ladder, dead, cancelled);
 * REF is stopped mid-flight and the working tree starts on the same state (its migrations
 * applied first, as a deploy would), drains it and replays the dead. Then the same in reverse on
 * fresh state: the working tree first, REF after it. One reference backend (in this process)
 * sees every call of both. Exits non-zero on a missing event, a call under a key that is not the
 * event's own, a call performed after an acknowledged cancel, or a kept dead event that moved.
 */

const N = positive(process.env.UPGRADE_EVENTS, 20);
/** How far ahead the sleeping and cancelled events are due when dispatched: after the switch. */
const SLEEP_MS = positive(process.env.UPGRADE_SLEEP_MS, 20_000);
const DRAIN_MS = positive(process.env.UPGRADE_DRAIN_MS, 120_000);
/** How long a group may take to reach its state before the first release is stopped anyway. */
const REACH_MS = 45_000;
/** After everything settled: how long to keep watching for late calls (a cancelled event waking). */
const QUIET_MS = 3_000;
const SCHEDULED_INTERVAL_MS = 1000;
const RETRY_DELAY_SCALE = 0.001;
const REQUEST_TIMEOUT_MS = 20_000;
const STEP_2 = "payment/process-payout";

function positive(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = join(import.meta.dirname, "..", "..");
const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();

// --- The two releases ---------------------------------------------------------------------------

/** The options both releases' `startRuntime` take (REF's may take more, or fewer). */
interface SharedOptions {
  authToken: string;
  operatorToken: string;
  backendUrl: string;
  persistTo: string;
  scheduledIntervalMs: number;
  retryDelayScale: number;
  dispatchRateLimit: number;
  vars: { BACKEND_TIMEOUT_MS: string };
  onLog: (line: string) => void;
  platformFaults?: PlatformFaults;
}
interface RuntimeHandle {
  url: string;
  close(): Promise<void>;
}
interface Release {
  label: string;
  /** Whether it has the platform-fault wrapper (POST /__platform-faults), which state (a) needs. */
  platformFaults: boolean;
  start(options: SharedOptions): Promise<RuntimeHandle>;
}

let refArg: string;
try {
  refArg = process.argv[2] ?? defaultBase();
} catch (error) {
  if (!(error instanceof NoBaseReleaseError)) throw error;
  console.error(`upgrade-drill: ${error.message}: \`npm run upgrade-drill -- origin/main\``);
  process.exit(2);
}
let commit: string;
try {
  commit = git("rev-parse", "--verify", "--quiet", `${refArg}^{commit}`);
} catch {
  console.error(`upgrade-drill: ${refArg} is not a commit`);
  process.exit(2);
}
const short = commit.slice(0, 7);
const subject = git("log", "-1", "--format=%s", commit).slice(0, 100);
const head = git("rev-parse", "--short", "HEAD");
const dirty = git("status", "--porcelain", "--untracked-files=no").length > 0;
const treeLabel = `working tree (${head}${dirty ? " + uncommitted changes" : ""})`;
const refLabel = `${refArg === short || refArg === commit ? short : `${refArg} = ${short}`}`;

const refDir = await mkdtemp(join(tmpdir(), "jobs-upgrade-ref-"));
execFileSync("sh", ["-c", 'git archive --format=tar "$1" | tar -x -C "$2"', "sh", commit, refDir], {
  cwd: root,
});
await symlink(join(root, "node_modules"), join(refDir, "node_modules"), "dir");
const refRuntime = (await import(pathToFileURL(join(refDir, "worker", "local", "runtime.ts")).href)) as {
  startRuntime(options: SharedOptions): Promise<RuntimeHandle>;
};
const ref: Release = {
  label: `REF ${short}`,
  platformFaults: existsSync(join(refDir, "worker", "local", "faults", "entry.ts")),
  start: (options) => refRuntime.startRuntime(options),
};
const tree: Release = { label: "tree", platformFaults: true, start: (options) => startRuntime(options) };
const refMigrations = existsSync(join(refDir, "worker", "migrations"));
console.log(
  `REF ${refLabel} "${subject}" (${refMigrations ? "has" : "no"} worker/migrations${ref.platformFaults ? "" : ", no platform-fault wrapper"}), exported to ${refDir}`,
);

// --- Backend, state, producers -------------------------------------------------------------------

const started = Date.now();
// The reference backend in this process or, with DRILL_BACKEND=process, as one of its own reached
// over HTTP only. What it was asked is read afresh before every check (`waitUntil`) and count.
const handle = await openBackend(backendMode(process.env.DRILL_BACKEND), BENCH_TOKEN);
let asked: Call[] = [];
const refresh = async () => {
  asked = await handle.calls();
};
const backend = {
  url: handle.url,
  mode: handle.mode,
  get calls(): readonly Call[] {
    return asked;
  },
  addFault: (fault: Fault) => handle.addFault(fault),
  close: () => handle.close(),
};
const stateRoot = process.env.STATE_DIR ?? (await mkdtemp(join(tmpdir(), "jobs-upgrade-state-")));

/** Drops every backend fault (over /control, the in-process twin only adds). */
async function clearFaults() {
  const response = await fetch(`${backend.url}/control/faults`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  });
  if (!response.ok) throw new Error(`DELETE /control/faults answered ${response.status}`);
}

const GROUPS = [
  "accepted",
  "sleeping",
  "between-steps",
  "retrying",
  "dead-replayed",
  "dead-kept",
  "cancelled",
] as const;
type Group = (typeof GROUPS)[number];
const WHAT: Record<Group, string> = {
  accepted: "(a) accepted, not created (createBatch failing)",
  sleeping: "(b) sleeping until after the switch",
  "between-steps": "(c) payout between steps (step 2 mid-retry or in flight)",
  retrying: "(d) on the recovery ladder",
  "dead-replayed": "(e) dead, replayed by the second release",
  "dead-kept": "(e') dead, not replayed",
  cancelled: "(f) delayed, cancelled",
};
const NAMES: Record<Group, EventName> = {
  accepted: "email/reset-password",
  sleeping: "email/cart-recovery",
  "between-steps": "payment/process-payout",
  retrying: "whatsapp/send-template",
  "dead-replayed": "notification/create",
  "dead-kept": "email/verification",
  cancelled: "email/trial-reminder",
};
const EXPECTED: Record<Group, "delivered" | "dead" | "cancelled"> = {
  accepted: "delivered",
  sleeping: "delivered",
  "between-steps": "delivered",
  retrying: "delivered",
  "dead-replayed": "delivered",
  "dead-kept": "dead",
  cancelled: "cancelled",
};

interface DrillEvent {
  id: string;
  name: EventName;
  group: Group;
  /** Odd ones are sent as the legacy SDK sends them (`delayMs`), even ones as envelopes (`scheduledAt`). */
  legacy: boolean;
  /** The earliest moment its first call may happen, for delayed events. */
  runAt?: number;
  dispatched: boolean;
  dispatchError?: string;
  /** When the worker's answer to its cancel arrived. */
  cancelAckedAt?: number;
  /** What was observed of it just before the first release stopped. */
  atSwitch?: string;
  reached?: boolean;
  finalStatus?: string;
}

function eventsOf(prefix: string): DrillEvent[] {
  return GROUPS.flatMap((group) =>
    Array.from({ length: N }, (_, i) => ({
      id: `${prefix}_${group.replace("-", "_")}_${i}`,
      name: NAMES[group],
      group,
      legacy: i % 2 === 1,
      dispatched: false,
    })),
  );
}

function itemOf(event: DrillEvent, now: number) {
  const payload = VALID_PAYLOADS[event.name].payload;
  if (event.legacy)
    return {
      id: event.id,
      idempotencyKey: `key-${event.id}`,
      event: { name: event.name, data: payload },
      delayMs: event.runAt === undefined ? 0 : event.runAt - now,
    };
  return {
    id: event.id,
    name: event.name,
    payload,
    traceId: `trace-${event.id}`,
    idempotencyKey: `key-${event.id}`,
    createdAt: new Date(now).toISOString(),
    ...(event.runAt === undefined ? {} : { scheduledAt: new Date(event.runAt).toISOString() }),
  };
}

/** The public HTTP API of a running release, as producers and operators use it. */
function api(url: string) {
  const call = async (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  const json = async <T>(response: Response): Promise<T> => {
    const text = await response.text();
    if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  return {
    /** Sends in batches of 100 like a producer; a 5xx or 429 is sent again, a few times. */
    async dispatch(events: DrillEvent[], at: () => number = Date.now) {
      for (let i = 0; i < events.length; i += 100) {
        const batch = events.slice(i, i + 100);
        for (let attempt = 0; attempt < 4; attempt++) {
          const now = at();
          const body = JSON.stringify({ events: batch.map((e) => itemOf(e, now)) });
          const response = await call(BENCH_TOKEN, "/dispatch", { method: "POST", body }).catch(
            (error: unknown) => error as Error,
          );
          if (response instanceof Response && response.ok) {
            const result = (await response.json()) as {
              ids: string[];
              errors?: { id: string; error: string }[];
            };
            const ids = new Set(result.ids);
            const errors = new Map((result.errors ?? []).map((e) => [e.id, e.error]));
            for (const e of batch) {
              e.dispatched = ids.has(e.id);
              if (!e.dispatched) e.dispatchError = errors.get(e.id) ?? "not in ids";
            }
            break;
          }
          const why = response instanceof Response ? `HTTP ${response.status}` : response.message;
          for (const e of batch) e.dispatchError = why;
          if (response instanceof Response && response.status < 500 && response.status !== 429) break;
          await sleep(1000 * 2 ** attempt);
        }
      }
    },
    async status(id: string): Promise<string> {
      const response = await call(BENCH_TOKEN, `/status/${id}`);
      if (response.status === 404) {
        await response.body?.cancel();
        return "unknown id (404)";
      }
      return (await json<{ status: string }>(response)).status;
    },
    async cancel(id: string): Promise<boolean> {
      const response = await call(BENCH_TOKEN, `/events/${id}/cancel`, { method: "POST" });
      return response.ok && (await json<{ status: string }>(response)).status === "cancelled";
    },
    async cancelMany(ids: string[]): Promise<Set<string>> {
      const response = await call(BENCH_TOKEN, "/events/cancel", {
        method: "POST",
        body: JSON.stringify({ ids }),
      });
      const { results } = await json<{ results: { id: string; status: unknown }[] }>(response);
      return new Set(results.filter((r) => r.status === "cancelled").map((r) => r.id));
    },
    /** The operator API's list of one state, every page. */
    async failed(status: "retrying" | "dead" | "delivered"): Promise<Set<string>> {
      const found = new Set<string>();
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const path = `/failed-events?status=${status}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const body = await json<{ events: { id: string }[]; nextCursor?: string }>(
          await call(BENCH_OPERATOR_TOKEN, path),
        );
        for (const e of body.events) found.add(e.id);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      return found;
    },
    async replay(id: string): Promise<boolean> {
      const response = await call(BENCH_OPERATOR_TOKEN, `/failed-events/${id}/replay`, { method: "POST" });
      await response.body?.cancel();
      return response.status === 202;
    },
    async bulkReplay(filter: { name: string; dryRun: boolean }): Promise<{ matched: number; ids: string[] }> {
      const response = await call(BENCH_OPERATOR_TOKEN, "/failed-events/replay", {
        method: "POST",
        body: JSON.stringify({ status: "dead", ...filter, limit: 500 }),
      });
      return json<{ matched: number; ids: string[] }>(response);
    },
    async platformFaults(faults?: PlatformFaults) {
      const response = await fetch(`${url}/__platform-faults`, {
        ...(faults ? { method: "POST", body: JSON.stringify(faults) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return json<{ stats: { instances: number; injected: Record<string, number> } }>(response);
    },
  };
}

/** Polls `check` until it holds, at most `ms` (and a bounded number of times). */
async function waitUntil(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
    try {
      await refresh();
      if (await check()) return true;
    } catch {
      // A runtime busy creating instances may answer slowly: look again.
    }
    await sleep(250);
  }
  return false;
}

// --- Accounting ----------------------------------------------------------------------------------

const key = (id: string, step: string) => `${id}:${step}`;
const callsOf = (id: string) => backend.calls.filter((c) => c.eventId === id);
const performed = (id: string, step: string) =>
  backend.calls.some((c) => c.performed && c.idempotencyKey === key(id, step));
const delivered = (e: DrillEvent) => stepsOf(e.name).every((s) => performed(e.id, s));

/** A call is the event's own when it names the event and one of its steps, with `<id>:<step>` as key. */
function ownKey(call: Call, event: DrillEvent): boolean {
  return (
    call.eventId === event.id &&
    (stepsOf(event.name) as readonly string[]).includes(call.path) &&
    call.idempotencyKey === key(event.id, call.path)
  );
}

/** Whether an event is in the state its group was to reach before the switch, and what was seen. */
async function observe(
  e: DrillEvent,
  client: ReturnType<typeof api>,
  lists: { retrying: Set<string>; dead: Set<string> },
): Promise<{ reached: boolean; seen: string }> {
  const calls = callsOf(e.id);
  const status = await client.status(e.id);
  const seen = `${status}, ${calls.length} calls`;
  switch (e.group) {
    case "accepted":
      return { reached: status === "queued" && calls.length === 0, seen };
    case "sleeping":
      // Its instance exists (the caller waited for the creations) and sleeps: SDK words for that
      // are `scheduled`, but the local engine reports a sleeping instance as running.
      return { reached: ["scheduled", "running", "waiting"].includes(status) && calls.length === 0, seen };
    case "cancelled":
      return { reached: status === "cancelled" && calls.length === 0, seen };
    case "between-steps": {
      const second = calls.filter((c) => c.path === STEP_2);
      const midway =
        performed(e.id, "payment/validate-payout") &&
        !performed(e.id, STEP_2) &&
        second.length > 0 &&
        !lists.retrying.has(e.id) &&
        !lists.dead.has(e.id);
      const last = second.at(-1);
      const detail = last ? (last.status === 0 ? "step 2 in flight" : `step 2 answered ${last.status}`) : "";
      return { reached: midway, seen: `${seen}${detail ? `, ${detail}` : ""}` };
    }
    case "retrying":
      return {
        reached: lists.retrying.has(e.id),
        seen: `${seen}${lists.retrying.has(e.id) ? ", retrying" : ""}`,
      };
    case "dead-replayed":
    case "dead-kept":
      return { reached: lists.dead.has(e.id), seen: `${seen}${lists.dead.has(e.id) ? ", dead" : ""}` };
  }
}

interface GroupResult {
  group: Group;
  what: string;
  events: number;
  dispatched: number;
  reachedAtSwitch: number;
  delivered: number;
  dead: number;
  cancelled: number;
  missing: number;
  /** Calls for these events under a key that is not `<event id>:<one of its steps>`. */
  differentKey: number;
  /** Calls that performed a step after the event's cancel was acknowledged. */
  performedAfterCancel: number;
  /** Calls before the event's due time. */
  earlyCalls: number;
  /** 2xx answers beyond the first per key: absorbed by the reference backend's deduplication. */
  redundantDeliveries: number;
  /** Calls made once the second release took over. */
  callsAfterSwitch: number;
  /** Events whose final /status is not what the backend saw (complete, dead, cancelled). */
  falseStatuses: number;
  unexpected: string[];
  finalStatuses: Record<string, number>;
  missingIds: string[];
  notReachedAtSwitch: string[];
  /** What was seen of the group just before the first release stopped: /status, calls, step 2. */
  atSwitch: Record<string, number>;
}

/** Runtimes still running, so a drill that fails half-way stops them before it exits. */
const live = new Set<RuntimeHandle>();
async function launch(release: Release, options: SharedOptions): Promise<RuntimeHandle> {
  const runtime = await release.start(options);
  live.add(runtime);
  return runtime;
}
async function stop(runtime: RuntimeHandle): Promise<void> {
  live.delete(runtime);
  await runtime.close();
}

// --- One direction -------------------------------------------------------------------------------

interface DirectionResult {
  direction: string;
  first: string;
  second: string;
  stateDir: string;
  phaseSeconds: { first: number; switch: number; drain: number };
  groups: GroupResult[];
  notes: string[];
  problems: string[];
  workerLogs: Record<string, Record<string, number>>;
}

async function runDirection(
  direction: string,
  prefix: string,
  first: Release,
  second: Release,
): Promise<{ result: DirectionResult; account: () => void }> {
  const stateDir = join(stateRoot, direction);
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const notes: string[] = [];
  const problems: string[] = [];
  const logs: Record<string, Record<string, number>> = {};
  const lines: string[] = [];
  const options = (release: Release, faults: boolean): SharedOptions => {
    const counts: Record<string, number> = {};
    logs[release.label] = counts;
    return {
      authToken: BENCH_TOKEN,
      operatorToken: BENCH_OPERATOR_TOKEN,
      backendUrl: backend.url,
      persistTo: stateDir,
      scheduledIntervalMs: SCHEDULED_INTERVAL_MS,
      retryDelayScale: RETRY_DELAY_SCALE,
      dispatchRateLimit: 1_000_000,
      vars: { BACKEND_TIMEOUT_MS: "30000" },
      // With the wrapper even when nothing fails: each runtime bundles into a folder of its own.
      ...(faults ? { platformFaults: {} } : {}),
      onLog: (line) => {
        if (lines.length < 200_000) lines.push(`${release.label} ${line}`);
        try {
          const { level, message } = JSON.parse(line) as { level?: string; message?: string };
          if (level === "warn" || level === "error")
            counts[`${level} ${message}`] = (counts[`${level} ${message}`] ?? 0) + 1;
        } catch {
          // The runtime's own lines: migrations applied, instances revived, scheduled runs failed.
          const own =
            /^(applied migrations \S+(?:, \S+)*|revived \d+ in-flight instances|scheduled run \w+)/.exec(
              line,
            )?.[1];
          if (own) counts[own] = (counts[own] ?? 0) + 1;
        }
      },
    };
  };
  const events = eventsOf(prefix);
  const group = (g: Group) => events.filter((e) => e.group === g);
  console.log(`\n== ${direction}: ${first.label} → ${second.label}, state in ${stateDir}`);

  // Phase 1: the first release, work put in every state.
  const firstStarted = Date.now();
  let runtime = await launch(first, options(first, first.platformFaults));
  let client = api(runtime.url);
  console.log(
    `${first.label} serving at ${runtime.url} after ${((Date.now() - firstStarted) / 1000).toFixed(1)} s`,
  );

  for (const e of group("retrying")) {
    // Every workflow attempt fails, so it is handed over; then the ladder waits 30 s a rung.
    await backend.addFault({ eventId: e.id, status: 500, count: 4, error: "injected 500 (workflow tier)" });
    await backend.addFault({
      eventId: e.id,
      status: 503,
      retryAfter: "30",
      error: "injected 503 (held on the ladder)",
    });
  }
  for (const [i, e] of group("between-steps").entries()) {
    // Step 1 passes; step 2 is slow (still under way when the release stops) or answers 503
    // asking for 15 s, so four attempts outlast the first phase.
    if (i % 2 === 1)
      await backend.addFault({ eventId: e.id, path: STEP_2, status: 200, latencyMs: 40_000, count: 1 });
    await backend.addFault({ eventId: e.id, path: STEP_2, status: 503, retryAfter: "15" });
  }
  for (const e of [...group("dead-replayed"), ...group("dead-kept")])
    await backend.addFault({
      eventId: e.id,
      status: 422,
      count: 1,
      error: "injected 422 (refused until fixed)",
    });

  const immediate = [
    ...group("retrying"),
    ...group("between-steps"),
    ...group("dead-replayed"),
    ...group("dead-kept"),
  ];
  await client.dispatch(immediate);
  const lists = async () => ({
    retrying: await client.failed("retrying"),
    dead: await client.failed("dead"),
  });
  const reached = async (list: DrillEvent[]) => {
    const seen = await lists();
    for (const e of list) {
      const o = await observe(e, client, seen);
      e.reached = o.reached;
      e.atSwitch = o.seen;
    }
    return list.every((e) => e.reached || !e.dispatched);
  };
  if (!(await waitUntil(REACH_MS, () => reached(immediate))))
    notes.push(`${direction}: not every immediate event reached its state within ${REACH_MS / 1000} s`);

  // Delayed events, due after the switch; the cancelled half is cancelled once created.
  const delayed = [...group("sleeping"), ...group("cancelled")];
  const before = first.platformFaults ? (await client.platformFaults()).stats.instances : 0;
  const dueAt = Date.now() + SLEEP_MS;
  for (const e of delayed) e.runAt = dueAt;
  await client.dispatch(delayed, () => Date.now());
  const created = delayed.filter((e) => e.dispatched).length;
  if (first.platformFaults)
    await waitUntil(
      REACH_MS,
      async () => (await client.platformFaults()).stats.instances >= before + created,
    );
  else await sleep(2000);
  const cancelled = group("cancelled").filter((e) => e.dispatched);
  const half = Math.ceil(cancelled.length / 2);
  for (const e of cancelled.slice(0, half)) if (await client.cancel(e.id)) e.cancelAckedAt = Date.now();
  const many = await client.cancelMany(cancelled.slice(half).map((e) => e.id));
  const ackedAt = Date.now();
  for (const e of cancelled.slice(half)) if (many.has(e.id)) e.cancelAckedAt = ackedAt;
  const refused = cancelled.filter((e) => e.cancelAckedAt === undefined);
  if (refused.length)
    problems.push(`${direction}: ${refused.length} cancels not acknowledged (${refused[0]?.id}, ...)`);

  // Accepted but never created: createBatch fails from now on, in dispatch and the reconciler.
  if (first.platformFaults) {
    await client.platformFaults({ createFailRate: 1 });
    await client.dispatch(group("accepted"));
    await waitUntil(10_000, async () => ((await client.platformFaults()).stats.injected.createFail ?? 0) > 0);
    await sleep(2 * SCHEDULED_INTERVAL_MS); // a reconciler run or two fail to create them too
  } else notes.push(`${direction}: ${first.label} has no platform-fault wrapper: state (a) not produced`);

  if (
    !(await waitUntil(REACH_MS, () =>
      reached(events.filter((e) => e.group !== "accepted" || first.platformFaults)),
    ))
  )
    notes.push(`${direction}: not every group reached its state before the switch (see "at the switch")`);
  await reached(events);
  const firstSeconds = (Date.now() - firstStarted) / 1000;
  const sinceDispatch = Date.now() - (dueAt - SLEEP_MS);
  await stop(runtime);
  const stoppedAt = Date.now();
  console.log(
    `${first.label} stopped after ${firstSeconds.toFixed(1)} s (delayed events due ${((dueAt - stoppedAt) / 1000).toFixed(1)} s after the stop)`,
  );
  if (sinceDispatch >= SLEEP_MS) notes.push(`${direction}: the delayed events came due before the switch`);

  // The switch: the backend is fixed, but the retrying events fail twice more and step 2 once more
  // on the second release, so it runs retries of work the first one started.
  await clearFaults();
  for (const e of group("retrying")) await backend.addFault({ eventId: e.id, status: 500, count: 2 });
  for (const e of group("between-steps"))
    await backend.addFault({ eventId: e.id, path: STEP_2, status: 503, retryAfter: "1", count: 1 });
  const switchAt = Date.now();
  runtime = await launch(second, options(second, second.platformFaults));
  client = api(runtime.url);
  const servingAt = Date.now();
  console.log(
    `${second.label} serving at ${runtime.url} ${((servingAt - switchAt) / 1000).toFixed(1)} s after the stop`,
  );
  if (servingAt > dueAt)
    notes.push(`${direction}: the second release served only after the delayed events came due`);

  // Dead events waiting for a replay: half one by one, the rest by the bulk route's filter.
  const toReplay = group("dead-replayed").filter((e) => e.dispatched);
  const byOne = toReplay.slice(0, Math.ceil(toReplay.length / 2));
  let replayed = 0;
  for (const e of byOne) if (await client.replay(e.id)) replayed += 1;
  const dry = await client.bulkReplay({ name: NAMES["dead-replayed"], dryRun: true });
  const bulk = await client.bulkReplay({ name: NAMES["dead-replayed"], dryRun: false });
  replayed += bulk.ids.length;
  if (replayed !== toReplay.length)
    problems.push(
      `${direction}: ${replayed} of ${toReplay.length} dead events replayed (one by one ${byOne.length}, bulk dry run matched ${dry.matched}, bulk ${bulk.ids.length})`,
    );
  const foreign = bulk.ids.filter((id) => !toReplay.some((e) => e.id === id));
  if (foreign.length)
    problems.push(`${direction}: the bulk replay took events it was not meant to: ${foreign.join(", ")}`);

  // Drain: until every event is delivered, dead or cancelled as its group should end, bounded.
  const dispatched = events.filter((e) => e.dispatched);
  let dead = new Set<string>();
  const settled = (e: DrillEvent) =>
    EXPECTED[e.group] === "delivered"
      ? delivered(e)
      : EXPECTED[e.group] === "dead"
        ? dead.has(e.id)
        : e.finalStatus === "cancelled";
  const drainDeadline = Date.now() + DRAIN_MS;
  let quietSince: number | undefined;
  for (let i = 0; i < 1000 && Date.now() < drainDeadline; i++) {
    try {
      dead = await client.failed("dead");
      for (const e of dispatched.filter((x) => x.group === "cancelled"))
        e.finalStatus = await client.status(e.id);
    } catch {
      // Busy: next round.
    }
    const open = dispatched.filter((e) => !settled(e));
    // Past the delayed events' time too, so a cancelled one that woke would be seen.
    if (open.length === 0 && Date.now() > dueAt + QUIET_MS) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= QUIET_MS) break;
    } else quietSince = undefined;
    await sleep(1000);
  }
  const drainSeconds = (Date.now() - servingAt) / 1000;
  dead = await client.failed("dead").catch(() => dead);
  for (const e of dispatched)
    e.finalStatus = await client.status(e.id).catch((error: Error) => error.message);
  await stop(runtime);
  console.log(`${second.label} drained for ${drainSeconds.toFixed(1)} s`);
  await writeFile(join(stateDir, "worker.log"), `${lines.join("\n")}\n`);

  const result: DirectionResult = {
    direction,
    first: first.label,
    second: second.label,
    stateDir,
    phaseSeconds: {
      first: Math.round(firstSeconds),
      switch: Math.round((servingAt - stoppedAt) / 1000),
      drain: Math.round(drainSeconds),
    },
    groups: [],
    notes,
    problems,
    workerLogs: logs,
  };
  // Accounted once every call of the run has its answer (a slow one may land after the drain).
  const account = () => {
    result.groups = accountFor(direction, prefix, events, switchAt, dead, problems);
  };
  return { result, account };
}

/** Each group's outcome from what the backend saw and what the second release said at the end. */
function accountFor(
  direction: string,
  prefix: string,
  events: DrillEvent[],
  switchAt: number,
  dead: ReadonlySet<string>,
  problems: string[],
): GroupResult[] {
  const group = (g: Group) => events.filter((e) => e.group === g);
  const groups = GROUPS.map((g): GroupResult => {
    const list = group(g);
    const ids = new Set(list.map((e) => e.id));
    const result: GroupResult = {
      group: g,
      what: WHAT[g],
      events: list.length,
      dispatched: list.filter((e) => e.dispatched).length,
      reachedAtSwitch: list.filter((e) => e.reached).length,
      delivered: 0,
      dead: 0,
      cancelled: 0,
      missing: 0,
      differentKey: 0,
      performedAfterCancel: 0,
      earlyCalls: 0,
      redundantDeliveries: 0,
      callsAfterSwitch: 0,
      falseStatuses: 0,
      unexpected: [],
      finalStatuses: {},
      missingIds: [],
      notReachedAtSwitch: list
        .filter((e) => !e.reached)
        .map((e) => `${e.id}: ${e.atSwitch ?? "not dispatched"}`),
      atSwitch: {},
    };
    for (const e of list) {
      const seen = e.atSwitch ?? "not dispatched";
      result.atSwitch[seen] = (result.atSwitch[seen] ?? 0) + 1;
    }
    const answered = new Map<string, number>();
    for (const call of backend.calls) {
      const owner = ids.has(call.eventId) ? call.eventId : call.idempotencyKey.split(":")[0];
      if (owner === undefined || !ids.has(owner)) continue;
      const e = list.find((x) => x.id === owner) as DrillEvent;
      if (!ownKey(call, e)) result.differentKey += 1;
      if (call.performed && e.cancelAckedAt !== undefined && call.at > e.cancelAckedAt)
        result.performedAfterCancel += 1;
      if (e.runAt !== undefined && call.at < e.runAt) result.earlyCalls += 1;
      if (call.at >= switchAt) result.callsAfterSwitch += 1;
      if (call.status >= 200 && call.status < 300)
        answered.set(call.idempotencyKey, (answered.get(call.idempotencyKey) ?? 0) + 1);
    }
    result.redundantDeliveries = [...answered.values()].reduce((sum, n) => sum + n - 1, 0);
    for (const e of list.filter((x) => x.dispatched)) {
      const status = e.finalStatus ?? "?";
      result.finalStatuses[status] = (result.finalStatuses[status] ?? 0) + 1;
      const isDelivered = delivered(e);
      const isDead = dead.has(e.id);
      const isCancelled = status === "cancelled";
      if (isDelivered) result.delivered += 1;
      else if (isDead) result.dead += 1;
      else if (isCancelled) result.cancelled += 1;
      else {
        result.missing += 1;
        result.missingIds.push(`${e.id} (/status ${status}, ${callsOf(e.id).length} calls)`);
      }
      const outcome = isDelivered ? "delivered" : isDead ? "dead" : isCancelled ? "cancelled" : "missing";
      const says = { delivered: "complete", dead: "dead", cancelled: "cancelled", missing: status }[outcome];
      if (status !== says) {
        result.falseStatuses += 1;
        result.unexpected.push(`${e.id}: ${outcome}, but /status says ${status}`);
      }
      if (isDelivered && isDead) result.unexpected.push(`${e.id}: delivered and dead`);
      else if (outcome !== EXPECTED[g] && outcome !== "missing")
        result.unexpected.push(`${e.id}: ${outcome} (expected ${EXPECTED[g]}; /status ${status})`);
    }
    return result;
  });

  for (const r of groups) {
    const where = `${direction}, ${r.group}`;
    if (r.dispatched < r.events)
      problems.push(
        `${where}: ${r.events - r.dispatched} events not accepted at dispatch (${list(group(r.group))})`,
      );
    if (r.missing) problems.push(`${where}: ${r.missing} missing: ${r.missingIds.slice(0, 5).join("; ")}`);
    if (r.differentKey) problems.push(`${where}: ${r.differentKey} calls under a different key`);
    if (r.performedAfterCancel)
      problems.push(`${where}: ${r.performedAfterCancel} calls performed after an acknowledged cancel`);
    if (r.earlyCalls) problems.push(`${where}: ${r.earlyCalls} calls before the event's due time`);
    if (r.falseStatuses) problems.push(`${where}: ${r.falseStatuses} final /status not what happened`);
    if (r.unexpected.length)
      problems.push(
        `${where}: ${r.unexpected.length} ended otherwise: ${r.unexpected.slice(0, 5).join("; ")}`,
      );
    if (r.group === "dead-kept" && r.callsAfterSwitch)
      problems.push(
        `${where}: ${r.callsAfterSwitch} backend calls after the switch for dead events nobody replayed`,
      );
  }
  // Calls for an event of this direction that name none of them (a key or event id of no event).
  const prefixed = backend.calls.filter(
    (c) => c.eventId.startsWith(`${prefix}_`) && !events.some((e) => e.id === c.eventId),
  );
  if (prefixed.length)
    problems.push(`${direction}: ${prefixed.length} calls for event ids that were never dispatched`);
  return groups;
}

function list(events: DrillEvent[]): string {
  const failed = events.filter((e) => !e.dispatched);
  return `${failed[0]?.id}: ${failed[0]?.dispatchError ?? "?"}${failed.length > 1 ? ", ..." : ""}`;
}

// --- Run both directions and report ---------------------------------------------------------------

const results: DirectionResult[] = [];
try {
  const upgrade = await runDirection("upgrade", "up", ref, tree);
  const rollback = await runDirection("rollback", "rb", tree, ref);
  // A call still under way (the slow step 2 of a stopped release) is accounted with its answer.
  if (!(await waitUntil(45_000, async () => !backend.calls.some((c) => c.status === 0))))
    rollback.result.notes.push("some backend calls were still unanswered at the end");
  await refresh();
  for (const { result, account } of [upgrade, rollback]) {
    account();
    results.push(result);
  }
} catch (error) {
  console.error(
    `upgrade-drill stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 2;
} finally {
  for (const runtime of live) await runtime.close().catch(() => {});
  await backend.close();
}
if (process.exitCode === 2) {
  await rm(refDir, { recursive: true, force: true });
  console.error(`state kept in ${stateRoot}`);
  process.exit(2);
}
const unattributed = backend.calls.filter((c) => !/^(up|rb)_/.test(c.eventId));
const problems = [
  ...results.flatMap((r) => r.problems),
  ...(unattributed.length ? [`${unattributed.length} backend calls for no event of the drill`] : []),
];
const seconds = Math.round((Date.now() - started) / 1000);
const report = {
  machine: machine(),
  seconds,
  backend: backend.mode,
  ref: { arg: refArg, commit, subject, migrations: refMigrations, platformFaults: ref.platformFaults },
  tree: { head, uncommittedChanges: dirty },
  eventsPerState: N,
  sleepMs: SLEEP_MS,
  retryDelayScale: RETRY_DELAY_SCALE,
  scheduledIntervalMs: SCHEDULED_INTERVAL_MS,
  directions: results,
  problems,
};

const counts = (entries: Record<string, number>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";
const rows = results.flatMap((r) =>
  r.groups.map(
    (g) =>
      `| ${r.direction}: ${r.first} → ${r.second} | ${g.what} | ${g.events} | ${g.reachedAtSwitch} | ${g.delivered} | ${g.dead} | ${g.cancelled} | ${g.missing} | ${g.differentKey} | ${g.performedAfterCancel} | ${g.earlyCalls} | ${g.falseStatuses} | ${g.redundantDeliveries} | ${counts(g.finalStatuses)} |`,
  ),
);
const markdown = [
  `Upgrade drill ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores): REF ${refLabel} ("${subject}"; ${refMigrations ? "with" : "before"} worker/migrations) and the ${treeLabel}, ${N} events per state, one state folder per direction, backend ${backend.mode}, ${seconds} s in all.`,
  "",
  "| direction | state before the switch | events | in that state at the switch | delivered | dead | cancelled | missing | calls under a different key | performed after cancel | calls before due | false /status | same-key re-sends answered 2xx (deduplicated by the backend) | final /status |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows,
  "",
  ...results.map(
    (r) =>
      `${r.direction}, seen just before ${r.first} stopped: ${r.groups
        .map(
          (g) =>
            `${g.group}: ${Object.entries(g.atSwitch)
              .map(([seen, n]) => `${n} × ${seen}`)
              .join(", ")}`,
        )
        .join("; ")}.`,
  ),
  "",
  ...results.map(
    (r) =>
      `${r.direction}: first release ${r.phaseSeconds.first} s, stop to serving ${r.phaseSeconds.switch} s, drained in ${r.phaseSeconds.drain} s. Worker log (warnings, errors, startup): ${Object.entries(
        r.workerLogs,
      )
        .map(([release, c]) => `${release}: ${counts(c)}`)
        .join("; ")}.`,
  ),
  "",
  ...results.flatMap((r) => r.notes.map((n) => `Note: ${n}`)),
  problems.length
    ? `FAILED: ${problems.join("; ")}`
    : "Nothing missing, every call under the event's own key, nothing performed after a cancel, the kept dead stayed dead.",
  "",
].join("\n");
const out = join(import.meta.dirname, "results");
await mkdir(out, { recursive: true });
await writeFile(join(out, "upgrade-drill.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(out, "upgrade-drill.md"), markdown);
console.log(`\n${markdown}\nwrote test/bench/results/upgrade-drill.{json,md}`);
await rm(refDir, { recursive: true, force: true });
if (problems.length === 0 && process.env.STATE_DIR === undefined)
  await rm(stateRoot, { recursive: true, force: true });
else console.log(`state and worker logs kept in ${stateRoot}`);
process.exit(problems.length > 0 ? 1 : 0);
