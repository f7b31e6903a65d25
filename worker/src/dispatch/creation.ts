import type { Env } from "../env.ts";
import { CATALOG } from "../events/catalog.ts";
import type { JobParams } from "../events/job.ts";
import type { Actor } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { delayScale } from "../recovery/delay.ts";
import { releaseClaims } from "../store/claims.ts";
import { transitionMany } from "../store/events.ts";
import { CREATION, LIMITS, RECONCILER, WORKFLOWS, type WorkflowKind } from "../topology.ts";
import { Pacer } from "./pacer.ts";

/** Cloudflare reports an id that already exists with this code: the receipt vouches it is ours. */
const ALREADY_EXISTS = 10405;
const RATE_LIMITED = /\b429\b|too many requests|rate limit/i;

/** Every creation in this isolate goes through one pacer, under the platform's rate. */
const pacer = new Pacer(CREATION.perSecond);

export interface CreationReport {
  started: string[];
  /** Not created this time; left `accepted` for the reconciler. */
  released: string[];
  rateLimited: boolean;
}

/**
 * Creates the instances of claimed `accepted` events, paced, in createBatch-sized chunks, and
 * records each created one as `started`. Nothing here is answered to a producer: whatever fails
 * stays `accepted` and the reconciler tries again. `mayExist` lists events an earlier attempt
 * may already have created: locally a duplicate id would start a second instance, so those are
 * looked up first.
 */
export async function createInstances(
  env: Env,
  jobs: readonly JobParams[],
  by: Extract<Actor, "dispatch" | "reconciler">,
  { claimedUntil, mayExist = new Set<string>() }: { claimedUntil: number; mayExist?: ReadonlySet<string> },
): Promise<CreationReport> {
  const report: CreationReport = { started: [], released: [], rateLimited: false };
  for (const { kind, jobs: part } of route(jobs)) {
    // A claim past its end belongs to the reconciler: stop before two creators race.
    if (report.rateLimited || Date.now() > claimedUntil - 5_000) {
      report.released.push(...part.map((j) => j.id));
      continue;
    }
    const binding = env[WORKFLOWS[kind].binding];
    const fresh: JobParams[] = [];
    for (const job of part) {
      if (mayExist.has(job.id) && (await exists(binding, job.id))) report.started.push(job.id);
      else fresh.push(job);
    }
    if (fresh.length === 0) continue;
    await pacer.take(fresh.length);
    try {
      const result = await binding.createBatch({
        instances: fresh.map((job) => ({ id: job.id, params: job })),
      });
      const failed = new Map(result.errors.filter((e) => e.code !== ALREADY_EXISTS).map((e) => [e.index, e]));
      fresh.forEach((job, index) => {
        const error = failed.get(index);
        if (error === undefined) report.started.push(job.id);
        else {
          report.released.push(job.id);
          log.warn("creation.rejected", { eventId: job.id, code: error.code, error: error.message });
        }
      });
    } catch (error) {
      const message = error instanceof Error ? error.message.slice(0, LIMITS.errorTextLength) : "unknown";
      report.rateLimited = RATE_LIMITED.test(message);
      report.released.push(...fresh.map((j) => j.id));
      log.warn("creation.failed", { by, instances: fresh.length, error: message });
    }
  }
  await settle(env, report, by);
  return report;
}

async function exists(binding: Workflow, id: string): Promise<boolean> {
  try {
    await (await binding.get(id)).status();
    return true;
  } catch {
    return false;
  }
}

/** Records the outcome; if this write fails, the claims expire and the reconciler looks again. */
async function settle(env: Env, report: CreationReport, by: Extract<Actor, "dispatch" | "reconciler">) {
  const now = Date.now();
  try {
    await transitionMany(
      env.DB,
      report.started,
      "start",
      by,
      { dueAt: now + RECONCILER.instanceCheckAfterMs * delayScale(env) },
      null,
      now,
    );
    await releaseClaims(env.DB, report.released, now);
  } catch (error) {
    log.warn("creation.settle-failed", { by, error: error instanceof Error ? error.message : "unknown" });
  }
}

/** Which Workflow each job goes to, in createBatch-sized chunks. */
export function route(jobs: readonly JobParams[]): { kind: WorkflowKind; jobs: JobParams[] }[] {
  const byWorkflow = Map.groupBy(jobs, (job) => CATALOG[job.name].workflow);
  return [...byWorkflow].flatMap(([kind, group]) => chunk(group).map((part) => ({ kind, jobs: part })));
}

/** Splits jobs into groups within the createBatch ceilings (and the pace), keeping their order. */
export function chunk(jobs: readonly JobParams[]): JobParams[][] {
  const most = Math.min(LIMITS.createBatchInstances, CREATION.perSecond);
  const chunks: JobParams[][] = [];
  let current: JobParams[] = [];
  let bytes = 0;
  for (const job of jobs) {
    const size = new TextEncoder().encode(JSON.stringify(job)).byteLength;
    if (current.length === most || (current.length > 0 && bytes + size > LIMITS.createBatchBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(job);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
