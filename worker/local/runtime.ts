import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { bundleWorker } from "../build.ts";
import { COMPATIBILITY_DATE, LOCAL_COMPATIBILITY_FLAGS } from "../src/compatibility.ts";
import { DATABASE, RECONCILER } from "../src/topology.ts";
import { type LocalSettings, localWorkerOptions } from "./bindings.ts";
import { bundleFaultsWrapper } from "./faults/build.ts";
import { applyMigrations, type MigratableDatabase } from "./migrate.ts";
import { type InFlightDatabase, readInFlight, reviveInFlight } from "./revive.ts";

export interface RuntimeOptions extends LocalSettings {
  host?: string;
  port?: number;
  /** Where D1, queues and Workflows keep state; a restart on the same folder resumes in-flight work. */
  persistTo?: string;
  /** Receives every line the worker logs. */
  onLog?: (line: string) => void;
  /**
   * Calls the worker's scheduled handler this often (the cron of RECONCILER), as Cloudflare's
   * cron would; a run still going when the next is due makes that one skip. Off when unset.
   */
  scheduledIntervalMs?: number;
  /** Lets the caller run the scheduled handler itself over HTTP (`/cdn-cgi/local/scheduled`). */
  scheduledTrigger?: boolean;
  /**
   * Applies worker/migrations before the worker serves, as a deploy does (default). Off only to
   * show what the worker does on a database that lacks them.
   */
  migrate?: boolean;
}

export interface Runtime {
  url: string;
  miniflare: Miniflare;
  close(): Promise<void>;
}

/**
 * workerd's note that a flag the local runtime sets is a default at the compatibility date. The
 * local Workflows engine reads the flag itself, not the date (without it a NonRetryableError's
 * message is lost: the lost-answers test of a permanent failure fails), so the flag stays and
 * the note is dropped; a note about any other flag is still shown.
 */
function isFlagDefaultNote(message: string): boolean {
  const flag =
    /The compatibility flag (\S+) became the default as of \S+ so does not need to be specified/.exec(
      message,
    )?.[1];
  return flag !== undefined && (LOCAL_COMPATIBILITY_FLAGS as readonly string[]).includes(flag);
}

/**
 * Runs the bundled worker in workerd with every binding of the topology emulated locally. With
 * `platformFaults`, the platform-fault wrapper runs as the main module in front of the same
 * bundle (a second module, unchanged), and the worker's bindings fail as configured.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const log = options.onLog ?? console.log;
  // With faults, both modules go to a folder of this runtime's own, so no other run rewrites them.
  const faultsDir = options.platformFaults ? await mkdtemp(join(tmpdir(), "jobs-faults-")) : undefined;
  // Miniflare exits the process on SIGINT/SIGTERM before any handler of ours runs: clean up on exit.
  const removeFaultsDir = () => faultsDir && rmSync(faultsDir, { recursive: true, force: true });
  if (faultsDir) process.once("exit", removeFaultsDir);
  const bundle = await bundleWorker(faultsDir);
  const source = faultsDir
    ? {
        modulesRoot: dirname(bundle.path),
        modules: [
          { type: "ESModule" as const, path: (await bundleFaultsWrapper(bundle.path)).path },
          { type: "ESModule" as const, path: bundle.path },
        ],
      }
    : { modules: true, scriptPath: bundle.path };
  const inFlightBefore = options.persistTo
    ? await beforeServing(options.persistTo, options.migrate !== false, log)
    : undefined;
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      log: new Log(LogLevel.WARN),
      // The request.cf placeholder is enough locally; fetching the real one needs the internet.
      cf: false,
      // Lets the scheduler below trigger the scheduled handler over HTTP (local only).
      unsafeTriggerHandlers: options.scheduledIntervalMs !== undefined || options.scheduledTrigger === true,
      resourcePersistencePath: options.persistTo,
      handleStructuredLogs: ({ message }) => {
        if (!isFlagDefaultNote(message)) log(message);
      },
      workers: [{ ...localWorkerOptions(options), ...source }],
    }),
  );
  // With persisted state, migrations and the look at what was in flight happen before the
  // worker's port is open: Miniflare's proxy blocks this thread (Atomics.wait) on its first call of
  // each method, and a worker already serving can fill its stdout, which only this thread drains,
  // then block writing to it: both wait for ever (issue 18, item 6).
  const inFlight = inFlightBefore;
  const url = await miniflare.ready;
  if (options.migrate !== false && !options.persistTo) {
    // In memory nobody else holds the URL before this returns, so nothing can flood the pipe.
    const db = (await miniflare.getD1Database(DATABASE.binding)) as unknown as MigratableDatabase;
    await applyMigrations(db);
  }
  if (options.persistTo && inFlight && (inFlight.started.length > 0 || inFlight.retrying.length > 0)) {
    // Only what was in flight before this start: an event dispatched since is the worker's own.
    const revived = await reviveInFlight(miniflare, inFlight);
    if (revived > 0) log(`revived ${revived} in-flight instances from ${options.persistTo}`);
  }
  const scheduler = options.scheduledIntervalMs ? schedule(url, options.scheduledIntervalMs, log) : undefined;
  return {
    url: url.origin,
    miniflare,
    async close() {
      await scheduler?.stop();
      await miniflare.dispose();
      if (faultsDir) {
        process.off("exit", removeFaultsDir);
        await rm(faultsDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A private workerd on the same state folder, with D1 only and no port anyone knows: applies the
 * migrations and reads which events were in flight, then goes away before the worker serves.
 */
async function beforeServing(persistTo: string, migrate: boolean, log: (line: string) => void) {
  const preflight = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.WARN),
      cf: false,
      resourcePersistencePath: persistTo,
      workers: [
        {
          name: "jobs-preflight",
          modules: true,
          script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
          compatibilityDate: COMPATIBILITY_DATE,
          d1Databases: { [DATABASE.binding]: DATABASE.name },
        },
      ],
    }),
  );
  try {
    await preflight.ready;
    const db = (await preflight.getD1Database(DATABASE.binding)) as unknown as MigratableDatabase &
      InFlightDatabase;
    if (migrate) {
      const applied = await applyMigrations(db);
      if (applied.length > 0) log(`applied migrations ${applied.join(", ")}`);
    }
    return await readInFlight(db);
  } finally {
    await preflight.dispose();
  }
}

/**
 * Runs the scheduled handler every `intervalMs`, never two at once; `stop` waits for a run under
 * way. Over HTTP, not Miniflare's binding proxy: the proxy blocks this thread synchronously
 * while workerd answers, and workerd may be waiting on this process (the reference backend runs
 * here), which deadlocks both.
 */
function schedule(url: URL, intervalMs: number, log: (line: string) => void) {
  let running: Promise<void> | undefined;
  const trigger = new URL(
    `/cdn-cgi/local/scheduled?cron=${encodeURIComponent(RECONCILER.cron)}&format=json`,
    url,
  );
  const run = async () => {
    try {
      const response = await fetch(trigger);
      const result = (await response.json()) as { outcome: string };
      if (result.outcome !== "ok") log(`scheduled run ended ${result.outcome}`);
    } catch (error) {
      log(`scheduled run failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = run().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
