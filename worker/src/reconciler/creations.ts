import { createInstances } from "../dispatch/creation.ts";
import type { Env } from "../env.ts";
import { stepsOf } from "../events/catalog.ts";
import { inSlices } from "../events/chunks.ts";
import type { JobParams } from "../events/job.ts";
import { lookUp, workflowOf } from "../instances/status.ts";
import { interactiveEvents } from "../settings/vars.ts";
import { claimCreations } from "../store/claims.ts";
import type { StoredEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { CREATION, RECONCILER } from "../topology.ts";
import { ABANDON_AFTER_MS, forgettable, gone } from "./give-up.ts";
import type { ReconcileReport } from "./run.ts";
import { endUnroutable } from "./unroutable.ts";

/** Creation attempts, and time, after which an event that cannot be created is shown dead. */
const MAX_CREATE_ATTEMPTS = 20;
/** Instance look-ups of unroutable events at once: each asks every Workflow. */
const PARALLEL_LOOKUPS = 10;

export async function createOverdue(env: Env, now: number, report: ReconcileReport) {
  // Rows whose dispatch's claim ended (the tail passes each once), then claims that ended again.
  const rows = await claimCreations(
    env.DB,
    now,
    CREATION.claimMs,
    { tail: RECONCILER.maxTailRowsPerRun, overdue: RECONCILER.maxCreationsPerRun },
    interactiveEvents(env),
  );
  // Creation first: what this release cannot route must not use up the claims of what it can.
  await createRoutable(
    env,
    now,
    report,
    rows.flatMap((e) => (e.job ? [{ ...e, job: e.job }] : [])),
  );
  const unroutable = rows.filter((e) => e.unroutable !== undefined);
  const ended = await inSlices(unroutable, PARALLEL_LOOKUPS, (e) => endUnroutable(env, e, now));
  report.gaveUp += ended.filter(Boolean).length;
}

async function createRoutable(
  env: Env,
  now: number,
  report: ReconcileReport,
  claimed: (StoredEvent & { job: JobParams })[],
) {
  // Transient trouble is never terminal: only an event that could not be created for a day, over
  // many attempts, and has no instance, is shown dead (replayable from its first step). So is one
  // an earlier attempt may have created, with no instance now, past the instances' retention.
  const abandoned = (c: (typeof claimed)[number]) =>
    c.createAttempts > MAX_CREATE_ATTEMPTS && c.createdAt < now - ABANDON_AFTER_MS;
  const forgotten = (c: (typeof claimed)[number]) => c.createAttempts > 1 && forgettable(env, c, now);
  const stale = (c: (typeof claimed)[number]) => abandoned(c) || forgotten(c);
  const keep = new Set<string>();
  for (const event of claimed.filter(stale)) {
    const { job } = event;
    // Created meanwhile, or the platform cannot say: treat as any other claimed event.
    if ((await lookUp(workflowOf(env, job.name), job.id)) !== "missing") {
      keep.add(job.id);
      continue;
    }
    const error = forgotten(event)
      ? gone(env)
      : `Could not create the workflow instance after ${MAX_CREATE_ATTEMPTS} attempts over a day`;
    const ended = await transition(env.DB, job.id, {
      name: "abandon",
      by: "reconciler",
      changes: { remainingSteps: stepsOf(job.name), lastError: error, failed: true, dueAt: null },
      note: { outcome: "dead", detail: error },
    });
    if (ended) report.abandoned += 1;
  }
  const jobs = claimed.filter((c) => !stale(c) || keep.has(c.job.id));
  if (jobs.length === 0) return;
  const created = await createInstances(
    env,
    jobs.map((c) => c.job),
    "reconciler",
    {
      claimedUntil: now + CREATION.claimMs,
      // A second attempt may follow a first that created the instance but could not say so.
      mayExist: new Set(jobs.filter((c) => c.createAttempts > 1).map((c) => c.job.id)),
    },
  );
  report.created += created.started.length;
}
