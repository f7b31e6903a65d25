import {
  WorkflowEntrypoint,
  type WorkflowEvent,
  type WorkflowStep,
  type WorkflowStepConfig,
} from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import { limitedCall, stepWaitMs } from "../backend/limits.ts";
import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { stepsOf } from "../events/catalog.ts";
import { type JobParams, JobParamsSchema } from "../events/job.ts";
import type { JobResult } from "../instances/status.ts";
import { permanentFailure } from "../instances/status.ts";
import { RUNNING } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { handOver } from "../recovery/hand-over.ts";
import { delayScale } from "../settings/vars.ts";
import { loadEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { STEP_RETRY } from "../topology.ts";
import { RETRY_AFTER, retryMessage, stepConfig } from "./step-config.ts";
import { STEP_NAMES } from "./step-names.ts";

/**
 * A step's result: a permanent failure is an answer, not an exception, so it is never retried.
 * `unrecorded`: the last step was performed but its delivery receipt could not be written (or
 * was refused). `cancelled` is what a release before `unrecorded` recorded for a receipt refused
 * by a cancel: still read, so an instance replaying such a step ends as it would have.
 */
type StepResult =
  | { ok: true; status: number; unrecorded?: true; cancelled?: true }
  | { ok: false; reason: string; stopped?: Stop }
  | Waited;

/**
 * The call's turn at a backend limit did not come within the step: `attempt` is the attempt
 * that waited (those before it failed and count against the retry budget; waiting does not).
 */
type Waited = { ok: false; reason: string; throttled: number };
const waited = (r: StepResult): r is Waited => !r.ok && "throttled" in r;

/**
 * Why the row says no further step may run. An instance calls the backend only while the row
 * says the workflow tier owns the event (accepted or started): cancelled stops it; so does any
 * other state (dead, delivered, in the recovery tier, or one a newer release wrote that this
 * one cannot interpret), which it leaves alone rather than perform a step twice.
 */
type Stop = "cancelled" | "left_alone";
async function stopOf(env: Env, id: string): Promise<Stop | null> {
  const state = (await loadEvent(env.DB, id))?.state;
  if (state === undefined || (RUNNING as readonly string[]).includes(state)) return null;
  return state === "cancelled" ? "cancelled" : "left_alone";
}

/** Recording an ending must outlast a short D1 hiccup: about 17 minutes of retries. */
const recordStep = (env: Env): WorkflowStepConfig => ({
  retries: { limit: 10, delay: Math.max(1, Math.round(1000 * delayScale(env))), backoff: "exponential" },
});

/**
 * The only step runner: every Workflow class is this one with a different name. Each backend
 * step is one durable `step.do`, so a step that succeeded is never called again on replay.
 */
export abstract class JobWorkflow extends WorkflowEntrypoint<Env, JobParams> {
  override async run(event: WorkflowEvent<JobParams>, step: WorkflowStep): Promise<JobResult> {
    const parsed = JobParamsSchema.safeParse(event.payload);
    if (!parsed.success) throw new NonRetryableError("Instance params are not a valid event");
    const job = parsed.data;
    // A moment already passed (a delay shorter than the creation took) needs no sleep: the
    // engine refuses to sleep until the past, and would fail the event for it.
    if (job.runAt !== undefined && job.runAt > Date.now())
      await step.sleepUntil(STEP_NAMES.delay, new Date(job.runAt));

    const steps = stepsOf(job.name);
    const done: JobResult["steps"] = [];
    for (const [index, name] of steps.entries()) {
      let result: StepResult;
      try {
        const last = index === steps.length - 1;
        // Every attempt looks at the row before it calls: a producer may cancel while the instance
        // sleeps, between steps, between attempts, or while it is still being created (a cancel
        // acknowledged then could not stop an instance that did not exist yet).
        result = await this.callInTurn(step, job, name, last ? steps.length : undefined);
      } catch (error) {
        const reason = bounded(
          (error instanceof Error ? error.message : String(error)).replace(RETRY_AFTER, ""),
        );
        const remainingSteps = steps.slice(index);
        const outcome = {
          kind: "retrying",
          remainingSteps,
          error: reason,
          attempts: STEP_RETRY.limit + 1,
        } as const;
        try {
          await step.do(STEP_NAMES.handOver(name), recordStep(this.env), () =>
            handOver(this.env, job, outcome, "workflow"),
          );
        } catch {
          // D1 or the queue failed for the whole retry budget: the output carries what the
          // reconciler needs to finish the hand-over, so the event is not left behind.
          return {
            status: "hand_over_pending",
            steps: done,
            failedStep: name,
            remainingSteps,
            error: reason,
          };
        }
        return { status: "queued_for_retry", steps: done, failedStep: name };
      }
      if (!result.ok && result.stopped) return { status: result.stopped, steps: done };
      if (result.ok && result.cancelled) {
        done.push({ step: name, status: result.status });
        return { status: "cancelled", steps: done };
      }
      if (result.ok && result.unrecorded) {
        done.push({ step: name, status: result.status });
        // Performed, its receipt not written: record it now, retried through a D1 hiccup, and end
        // as the row says (a cancel acknowledged meanwhile makes it `cancelled`, never a
        // `delivered` output beside a cancelled row). Past every retry, the reconciler reads this
        // output and writes the receipt.
        const ending = await step
          .do(STEP_NAMES.recordDelivery(name), recordStep(this.env), () =>
            recordDelivery(this.env, job.id, steps.length),
          )
          .catch(() => "delivered" as const);
        return { status: ending, steps: done };
      }
      if (!result.ok) {
        const reason = permanentFailure(name, result.reason);
        const outcome = {
          kind: "dead",
          remainingSteps: steps.slice(index),
          error: reason,
          attempts: 1,
        } as const;
        await step
          .do(STEP_NAMES.recordDead(name), recordStep(this.env), () =>
            handOver(this.env, job, outcome, "workflow"),
          )
          .catch(() => {}); // The reconciler reads the errored instance and records it.
        throw new NonRetryableError(reason);
      }
      done.push({ step: name, status: result.status });
    }
    return { status: "delivered", steps: done };
  }

  /**
   * The step's call, again in a step of its own each time its turn at a backend limit did not
   * come: waiting is not an attempt, so each turn has the retries the earlier ones left.
   */
  private async callInTurn(step: WorkflowStep, job: JobParams, name: string, deliveredSteps?: number) {
    let failed = 0;
    for (let turn = 0; ; turn++) {
      const stepName = turn === 0 ? STEP_NAMES.call(name) : STEP_NAMES.callTurn(name, turn);
      const result = await step.do(stepName, stepConfig(this.env, STEP_RETRY.limit - failed), (ctx) =>
        this.call(job, name, ctx.attempt + failed, deliveredSteps),
      );
      if (!waited(result)) return result;
      // `throttled` is the attempt that waited, counted from the first turn's first.
      failed = result.throttled - 1;
    }
  }

  /** `deliveredSteps`: on the last step, how many steps the delivery receipt accounts for. */
  private async call(
    job: JobParams,
    name: string,
    attempt: number,
    deliveredSteps: number | undefined,
  ): Promise<StepResult> {
    // A failed look fails the attempt: calling without knowing could break an acknowledged cancel.
    const stop = await stopOf(this.env, job.id);
    if (stop !== null) return { ok: false, reason: stop, stopped: stop };
    const outcome = await limitedCall(this.env, job, name, stepWaitMs(this.env));
    if (outcome.kind === "throttled") {
      log.info("backend.throttled", {
        eventId: job.id,
        traceId: job.traceId,
        step: name,
        limit: outcome.limit,
      });
      return { ok: false, reason: outcome.limit, throttled: attempt };
    }
    log.info("backend.call", {
      eventId: job.id,
      traceId: job.traceId,
      step: name,
      attempt,
      outcome: outcome.kind,
    });
    if (outcome.kind === "done") {
      // The delivery receipt, inside the last step (no extra step per event on the happy path)
      // and non-fatal: a call performed must not be repeated because its receipt failed. It
      // counts the event's successful calls, one per step, in the same batch.
      if (deliveredSteps !== undefined) {
        const recorded = await deliver(this.env, job.id, deliveredSteps).catch(() => false);
        if (!recorded) return { ok: true, status: outcome.status, unrecorded: true };
      }
      return { ok: true, status: outcome.status };
    }
    if (outcome.kind === "dead") return { ok: false, reason: outcome.reason };
    throw new Error(retryMessage(name, outcome.reason, outcome.afterMs));
  }
}

const deliver = (env: Env, id: string, steps: number) =>
  transition(env.DB, id, { name: "deliver", by: "workflow", changes: { dueAt: null, calls: { ok: steps } } });

/**
 * Writes a receipt the last step could not, or learns why it was refused: every step was
 * performed, so the ending is delivered unless a cancel was acknowledged meanwhile (then the
 * output says cancelled, as the row does). Throws while D1 fails, so the step retries.
 */
async function recordDelivery(env: Env, id: string, steps: number): Promise<"delivered" | "cancelled"> {
  if (await deliver(env, id, steps)) return "delivered";
  return (await loadEvent(env.DB, id))?.state === "cancelled" ? "cancelled" : "delivered";
}
