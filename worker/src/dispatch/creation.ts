import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import type { JobParams } from "../events/job.ts";
import { lookUp } from "../instances/status.ts";
import type { Actor } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { delayScale, priorityOf } from "../settings/vars.ts";
import { cancelledAmong, releaseClaims } from "../store/claims.ts";
import { transitionMany } from "../store/transitions.ts";
import { CREATION, RECONCILER, WORKFLOWS } from "../topology.ts";
import { batchSize, createdFine, refusedForRate, reserve } from "./budget.ts";
import { type CreationLane, lanes, take } from "./lanes.ts";

/** Cloudflare reports an id that already exists with this code: the receipt vouches it is ours. */
const ALREADY_EXISTS = 10405;
/**
 * A createBatch call starts only with half its claim still ahead: the local engine can take
 * seconds per call, and one still running when the claim ends could race the reconciler's.
 */
const CLAIM_MARGIN_MS = CREATION.claimMs / 2;
const RATE_LIMITED = /\b429\b|too many requests|rate limit/i;

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
  {
    claimedUntil,
    claims,
    mayExist = new Set<string>(),
  }: {
    /** When the earliest claim among these jobs ends. */
    claimedUntil: number;
    /** Each job's own claim end, when they differ (jobs from several requests); else claimedUntil. */
    claims?: ReadonlyMap<string, number>;
    mayExist?: ReadonlySet<string>;
  },
): Promise<CreationReport> {
  const report: CreationReport = { started: [], released: [], rateLimited: false };
  // One lane after another, interactive ones first: the pacer decides between requests (and
  // between a request and the reconciler) whose lane goes next.
  for (const lane of lanes(jobs, (name) => priorityOf(env, name)))
    await createLane(env, lane, by, report, { claimedUntil, mayExist });
  // A dispatch request's claim is the rows' having no due time yet; a reconciler's is its end.
  await settle(env, jobs, report, by, (id) => (by === "dispatch" ? null : (claims?.get(id) ?? claimedUntil)));
  return report;
}

/** One lane's jobs (one workflow, class and tenant), created in order as its turns come. */
async function createLane(
  env: Env,
  { kind, lane, jobs }: CreationLane,
  by: Extract<Actor, "dispatch" | "reconciler">,
  report: CreationReport,
  { claimedUntil, mayExist }: { claimedUntil: number; mayExist: ReadonlySet<string> },
): Promise<void> {
  const binding = env[WORKFLOWS[kind].binding];
  const pending = [...jobs];
  while (pending.length > 0) {
    // A claim past its end belongs to the reconciler: stop before two creators race.
    if (report.rateLimited || Date.now() > claimedUntil - CLAIM_MARGIN_MS) {
      report.released.push(...pending.splice(0).map((j) => j.id));
      break;
    }
    const part = take(pending, batchSize());
    const fresh: JobParams[] = [];
    for (const job of part) {
      const found = mayExist.has(job.id) ? await lookUp(binding, job.id) : "missing";
      if (found === "exists") report.started.push(job.id);
      else if (found === "missing") fresh.push(job);
      else report.released.push(job.id); // Unknown: creating could start it twice.
    }
    if (fresh.length === 0) continue;
    // Cancelled meanwhile: never created, so none of its steps runs.
    await skipCancelled(env, fresh);
    if (fresh.length === 0) continue;
    // Nothing may stand between the budget's reservation and the call: it counts this second.
    const before = Date.now();
    const granted = await reserve(env, kind, fresh.length, claimedUntil - CLAIM_MARGIN_MS, lane);
    if (granted === 0) {
      // No budget before the claim's margin: the rest is the reconciler's.
      report.released.push(...fresh.map((j) => j.id), ...pending.splice(0).map((j) => j.id));
      break;
    }
    // Another lane met a 429 while this one waited: the rest is the reconciler's.
    if (report.rateLimited) {
      report.released.push(...fresh.map((j) => j.id), ...pending.splice(0).map((j) => j.id));
      break;
    }
    // What the budget could not grant now goes back to the front, in order.
    pending.unshift(...fresh.splice(granted));
    // A long wait for the budget leaves time for a cancel: look once more (what is dropped now
    // only leaves its reservation unused), then stopCancelled covers the last milliseconds.
    if (Date.now() - before > PACE_RECHECK_MS) await skipCancelled(env, fresh);
    if (fresh.length === 0) continue;
    // The wait may have outlasted the claim: then it is the reconciler's.
    if (Date.now() > claimedUntil - CLAIM_MARGIN_MS) {
      report.released.push(...fresh.map((j) => j.id), ...pending.splice(0).map((j) => j.id));
      break;
    }

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
      createdFine();
      await stopCancelled(env, binding, fresh);
    } catch (error) {
      const message = error instanceof Error ? bounded(error.message) : "unknown";
      report.released.push(...fresh.map((j) => j.id));
      if (RATE_LIMITED.test(message)) {
        // The account's budget is spent: slow down and leave the rest to the next run.
        refusedForRate();
        report.rateLimited = true;
      }
      log.warn("creation.failed", { by, instances: fresh.length, error: message });
    }
  }
}

/** A wait for the pace longer than this is followed by a second look for cancels. */
const PACE_RECHECK_MS = 50;

/** Drops, in place, the jobs whose events were cancelled; a failed look drops nothing. */
async function skipCancelled(env: Env, jobs: JobParams[]): Promise<void> {
  const cancelled = await cancelledAmong(
    env.DB,
    jobs.map((j) => j.id),
  ).catch(() => new Set<string>());
  if (cancelled.size > 0) jobs.splice(0, jobs.length, ...jobs.filter((j) => !cancelled.has(j.id)));
}

/**
 * A cancel that looked before these instances existed could not stop them: look again now that
 * they do, and stop any whose event was cancelled meanwhile. Best effort (an evicted isolate never
 * gets here): what keeps the promise is the workflow's look at the row before every attempt.
 */
async function stopCancelled(env: Env, binding: Workflow, created: readonly JobParams[]): Promise<void> {
  try {
    const cancelled = await cancelledAmong(
      env.DB,
      created.map((j) => j.id),
    );
    for (const id of cancelled) await (await binding.get(id)).terminate().catch(() => {});
  } catch (error) {
    log.warn("creation.cancel-check-failed", { error: error instanceof Error ? error.message : "unknown" });
  }
}

/**
 * Records the outcome; if this write fails, the claims expire and the reconciler looks again. A
 * started event's first check comes after its delay, if it has one.
 */
async function settle(
  env: Env,
  jobs: readonly JobParams[],
  report: CreationReport,
  by: Extract<Actor, "dispatch" | "reconciler">,
  claimOf: (id: string) => number | null,
) {
  const now = Date.now();
  const started = new Set(report.started);
  const byCheckTime = Map.groupBy(
    jobs.filter((job) => started.has(job.id)),
    (job) => Math.max(now, job.runAt ?? 0) + RECONCILER.firstCheckAfterMs * delayScale(env),
  );
  try {
    for (const [claim, ids] of Map.groupBy(report.released, claimOf))
      await releaseClaims(env.DB, ids, claim, now);
    // A dispatch request does not spend a write on `start`: most events are delivered (straight
    // from `accepted`) before its claim ends, and the reconciler finds any still running then.
    if (by !== "reconciler") return;
    for (const [dueAt, group] of byCheckTime)
      await transitionMany(
        env.DB,
        group.map((job) => job.id),
        { name: "start", by, changes: { dueAt }, now },
      );
  } catch (error) {
    log.warn("creation.settle-failed", { by, error: error instanceof Error ? error.message : "unknown" });
  }
}
