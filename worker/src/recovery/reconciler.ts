import { createInstances, lookUp } from "../dispatch/creation.ts";
import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { CATALOG, isEventName, stepsOf } from "../events/catalog.ts";
import type { JobParams } from "../events/job.ts";
import { findInstance, type JobResult, NOT_FOUND, permanentlyFailedStep } from "../instances/status.ts";
import { fromClause, stateClause } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { delayScale } from "../settings.ts";
import { claimChecks, claimCreations } from "../store/claims.ts";
import { ALL_STEPS, loadEvents, type StoredEvent } from "../store/events.ts";
import { requireSchema } from "../store/schema.ts";
import { transition, transitionMany } from "../store/transitions.ts";
import { CREATION, RECONCILER, WORKFLOWS } from "../topology.ts";
import { deliveryDue, handOver } from "./hand-over.ts";
import { sendPointers } from "./pointers.ts";
import { instanceRetention, retentionDays } from "./retention.ts";

/** Creation attempts, and time, after which an event that cannot be created is shown dead. */
const MAX_CREATE_ATTEMPTS = 20;
const ABANDON_AFTER_MS = 24 * 60 * 60 * 1000;
/**
 * An accepted event this release cannot route, and no instance runs, is shown dead only after
 * this many claims and a day (ABANDON_AFTER_MS): a newer release beside it may yet take it.
 */
const UNROUTABLE_TRIES = 10;
/** Instance look-ups of unroutable events at once: each asks every Workflow. */
const PARALLEL_LOOKUPS = 10;

export interface ReconcileReport {
  created: number;
  abandoned: number;
  /** Events this release cannot route, ended dead (or recorded delivered). */
  gaveUp: number;
  pointersResent: number;
  instancesChecked: number;
  repaired: number;
}

/**
 * Repairs every state that can strand, with bounded work per run; safe to run twice at once
 * (each repair is a guarded transition or a claim, so two runs never act on one event twice):
 * - accepted events whose creation claim ended: created, paced (a 429 ends the run's creating);
 * - retrying events whose next delivery is overdue: their recovery pointer is sent again;
 * - started events past their check time: their instance says what became of them, and a
 *   finished one whose ending was never recorded (delivered, handed over, failed) is recorded.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    created: 0,
    abandoned: 0,
    gaveUp: 0,
    pointersResent: 0,
    instancesChecked: 0,
    repaired: 0,
  };
  await requireSchema(env.DB);
  await step("create", () => createOverdue(env, now, report));
  await step("resend", () => resendOverdue(env, now, report));
  await step("check", () => checkInstances(env, now, report));
  return report;
}

/** One failing part (D1 down, say) must not keep the others from running. */
async function step(name: string, work: () => Promise<void>) {
  try {
    await work();
  } catch (error) {
    log.error("reconcile.failed", { part: name, error: bounded(String(error)) });
  }
}

async function createOverdue(env: Env, now: number, report: ReconcileReport) {
  // Rows whose dispatch's claim ended (the tail passes each once), then claims that ended again.
  const rows = await claimCreations(env.DB, now, CREATION.claimMs, {
    tail: RECONCILER.maxTailRowsPerRun,
    overdue: RECONCILER.maxCreationsPerRun,
  });
  // Creation first: what this release cannot route must not use up the claims of what it can.
  await createRoutable(
    env,
    now,
    report,
    rows.flatMap((e) => (e.job ? [{ ...e, job: e.job }] : [])),
  );
  const unroutable = rows.filter((e) => e.unroutable !== undefined);
  for (let i = 0; i < unroutable.length; i += PARALLEL_LOOKUPS) {
    const ended = await Promise.all(
      unroutable.slice(i, i + PARALLEL_LOOKUPS).map((e) => endUnroutable(env, e, now)),
    );
    report.gaveUp += ended.filter(Boolean).length;
  }
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
    const binding = env[WORKFLOWS[CATALOG[job.name].workflow].binding];
    // Created meanwhile, or the platform cannot say: treat as any other claimed event.
    if ((await lookUp(binding, job.id)) !== "missing") {
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

async function resendOverdue(env: Env, now: number, report: ReconcileReport) {
  const { results } = await env.DB.prepare(
    `SELECT id FROM events WHERE ${stateClause(["retrying"])} AND due_at <= ?1 ORDER BY due_at LIMIT ?2`,
  )
    .bind(now, RECONCILER.maxPointersPerRun)
    .all<{ id: string }>();
  if (results.length === 0) return;
  // Claim first (moves due_at on, only where still due), so a concurrent run, or a consumer
  // that has just moved it, is not sent the same pointer again.
  const ids = await transitionMany(
    env.DB,
    results.map((r) => r.id),
    {
      name: "retry",
      by: "reconciler",
      changes: { dueAt: deliveryDue(env, now, 0) },
      note: { outcome: "pointer re-sent" },
      now,
      guard: { dueBy: now },
    },
  );
  await sendPointers(env, ids);
  report.pointersResent += ids.length;
}

async function checkInstances(env: Env, now: number, report: ReconcileReport) {
  // Claimed first: the check moves on, and a concurrent run does not repair the same events.
  const next = now + RECONCILER.instanceCheckAfterMs * delayScale(env);
  const ids = await claimChecks(env.DB, now, next, RECONCILER.maxInstanceChecksPerRun);
  if (ids.length === 0) return;
  for (const event of (await loadEvents(env.DB, ids)).values()) {
    report.instancesChecked += 1;
    // One event's failed repair (D1, the queue) must not cost the others their check: the claim
    // already moved every one of them on by half an hour; this one is checked again then.
    try {
      if (await repair(env, event, now)) report.repaired += 1;
    } catch (error) {
      log.warn("reconcile.repair-failed", { eventId: event.id, error: bounded(String(error)) });
    }
  }
}

/** Asks one started event's instance what became of it; records what nobody recorded. */
async function repair(env: Env, event: StoredEvent, now: number): Promise<boolean> {
  if (event.unroutable !== undefined) return endUnroutable(env, event, now);
  if (!event.job || !isEventName(event.name)) return false;
  const job = event.job;
  const found = await lookUpInstance(env, event);
  if (found === "unknown") return false; // The platform could not say: the claim moved the check on.
  if (found === "missing") {
    // Never created after all (its creation's answer lost), or forgotten: only the first may be
    // created again. Past the instances' retention it may have run every step: an operator decides.
    if (!forgettable(env, event, now))
      return transition(env.DB, event.id, {
        name: "recreate",
        by: "reconciler",
        changes: { dueAt: now },
        note: { outcome: "instance missing" },
      });
    const error = gone(env);
    return transition(env.DB, event.id, {
      name: "giveUp",
      by: "reconciler",
      changes: { remainingSteps: stepsOf(event.name), lastError: error, failed: true, dueAt: null },
      note: { outcome: "dead", detail: error },
    });
  }
  const status = found;
  const output = (status.output ?? undefined) as JobResult | undefined;
  switch (status.status) {
    case "complete": {
      // The receipt the workflow could not write, with the calls it would have counted.
      if (output?.status === "delivered")
        return transition(env.DB, event.id, {
          name: "deliver",
          by: "reconciler",
          changes: { dueAt: null, calls: { ok: output.steps?.length ?? 0 } },
          note: { outcome: "delivery recorded" },
        });
      // Gave up without a record of it: finish the hand-over from what the instance says.
      const steps = stepsOf(event.name);
      const from = output?.failedStep ? Math.max(0, steps.indexOf(output.failedStep)) : 0;
      const outcome = {
        kind: "retrying",
        remainingSteps: output?.remainingSteps ?? steps.slice(from),
        error: output?.error ?? "Hand-over not recorded by the workflow",
        attempts: 0,
      } as const;
      await handOver(env, job, outcome, "reconciler");
      return true;
    }
    case "errored":
    case "terminated": {
      const error = status.error?.message ?? `Workflow instance ${status.status}`;
      // A permanent failure whose record was lost: dead, as the workflow would have recorded it,
      // never retried (the backend said no more).
      const failedStep = permanentlyFailedStep(error);
      const steps = stepsOf(event.name);
      if (status.status === "errored" && failedStep !== undefined && steps.includes(failedStep)) {
        const dead = {
          kind: "dead",
          remainingSteps: steps.slice(steps.indexOf(failedStep)),
          error: bounded(error),
          attempts: 1,
        } as const;
        await handOver(env, job, dead, "reconciler");
        return true;
      }
      // Which steps ran is unknown: run them all again; the backend deduplicates on the ids.
      const outcome = {
        kind: "retrying",
        remainingSteps: steps,
        error: bounded(error),
        attempts: 0,
      } as const;
      await handOver(env, job, outcome, "reconciler");
      return true;
    }
    default: {
      // Still running, sleeping or queued: the claim moved the check on; a delayed one waits
      // until after its delay.
      if (event.runAt !== null && event.runAt > now) {
        const next = event.runAt + RECONCILER.firstCheckAfterMs * delayScale(env);
        await env.DB.prepare(`UPDATE events SET due_at = ?2 WHERE id = ?1 AND ${fromClause("recreate")}`)
          .bind(event.id, next)
          .run();
      }
      return false;
    }
  }
}

/**
 * An accepted or started event this release cannot route: never retried for ever. Its instance,
 * wherever it is, decides: still running (a release that can route it created it) is left alone;
 * finished and delivered is recorded; otherwise it ends dead with the reason, replayable once a
 * release can route it. An accepted one that no instance runs yet gets UNROUTABLE_TRIES claims
 * first, so a newer release running beside this one (a gradual rollout) can take it.
 */
async function endUnroutable(env: Env, event: StoredEvent, now: number): Promise<boolean> {
  const instance = await findInstance(env, event.id);
  if (instance === "unknown") return false;
  if (instance !== "missing") {
    if (!["complete", "errored", "terminated"].includes(instance.status)) {
      // Running (a release that can route it created it): the instance check looks again later,
      // after its delay if it has one, instead of a claim every minute.
      if (event.state === "accepted")
        await transition(env.DB, event.id, {
          name: "start",
          by: "reconciler",
          changes: {
            dueAt: Math.max(now, event.runAt ?? 0) + RECONCILER.firstCheckAfterMs * delayScale(env),
          },
          now,
        });
      return false;
    }
    if ((instance.output as JobResult | undefined)?.status === "delivered")
      return transition(env.DB, event.id, {
        name: "deliver",
        by: "reconciler",
        changes: { dueAt: null },
        note: { outcome: "delivery recorded" },
      });
  } else if (
    // No instance anywhere this release can see: a newer release (with a Workflow of its own,
    // perhaps) may still be running beside this one. Only an event a day old, and claimed often
    // enough, is given up.
    // A day after it was due, not after it was accepted: a newer release's instance may sleep.
    Math.max(event.createdAt, event.runAt ?? 0) > now - ABANDON_AFTER_MS ||
    (event.state === "accepted" && event.createAttempts < UNROUTABLE_TRIES)
  )
    return false;
  const detail = instance === "missing" ? "no instance runs it" : `its instance ended ${instance.status}`;
  const error = bounded(`${event.unroutable}; ${detail}. Replay it once a release can route it`);
  return transition(env.DB, event.id, {
    name: "giveUp",
    by: "reconciler",
    changes: {
      remainingSteps: isEventName(event.name) ? stepsOf(event.name) : ALL_STEPS,
      lastError: error,
      failed: true,
      dueAt: null,
    },
    note: { outcome: "dead", detail: error },
  });
}

/** The instance's status; "missing" only when the platform says there is none. */
async function lookUpInstance(env: Env, event: StoredEvent): Promise<InstanceStatus | "missing" | "unknown"> {
  if (!isEventName(event.name)) return "unknown";
  try {
    return await (await env[WORKFLOWS[CATALOG[event.name].workflow].binding].get(event.id)).status();
  } catch (error) {
    return error instanceof Error && NOT_FOUND.test(error.message) ? "missing" : "unknown";
  }
}

/**
 * Whether the event's instance, had it existed, may have been forgotten by now: it finished no
 * sooner than the event was accepted and due, and is kept that long after.
 */
const forgettable = (env: Env, event: StoredEvent, now: number) =>
  Math.max(event.createdAt, event.runAt ?? 0) + instanceRetention(env) - FORGET_MARGIN_MS <= now;
/** Clocks and the platform's own sweep are not exact: an hour's doubt counts as forgotten. */
const FORGET_MARGIN_MS = 60 * 60 * 1000;

const gone = (env: Env) =>
  `Its workflow instance is not found, and is older than the instances' retention (${retentionDays(env)} days): ` +
  "it may have performed every step with its ending never recorded. Check with the backend, then replay or discard it";
