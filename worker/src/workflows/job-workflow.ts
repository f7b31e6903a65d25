import {
  WorkflowEntrypoint,
  type WorkflowEvent,
  type WorkflowStep,
  type WorkflowStepConfig,
} from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import { callBackend } from "../backend/client.ts";
import type { Env } from "../env.ts";
import { stepsOf } from "../events/catalog.ts";
import { type JobParams, JobParamsSchema } from "../events/job.ts";
import { log } from "../log.ts";
import { STEP_RETRY, VARS } from "../topology.ts";

export interface JobResult {
  status: "delivered";
  steps: { step: string; status: number }[];
}

/**
 * The only step runner: every Workflow class is this one with a different name. Each backend
 * step is one durable `step.do`, so a step that succeeded is never called again on replay.
 */
export abstract class JobWorkflow extends WorkflowEntrypoint<Env, JobParams> {
  override async run(event: WorkflowEvent<JobParams>, step: WorkflowStep): Promise<JobResult> {
    const parsed = JobParamsSchema.safeParse(event.payload);
    if (!parsed.success) {
      throw new NonRetryableError("Instance params are not a valid event");
    }
    const job = parsed.data;
    if (job.runAt !== undefined) await step.sleepUntil("delay", new Date(job.runAt));

    const steps: JobResult["steps"] = [];
    for (const name of stepsOf(job.name)) {
      const status = await step.do(name, stepConfig(this.env), async (ctx) => {
        const outcome = await callBackend(this.env, job, name);
        const fields = { eventId: job.id, traceId: job.traceId, step: name, attempt: ctx.attempt };
        log.info("backend.call", { ...fields, outcome: outcome.kind });
        if (outcome.kind === "done") return outcome.status;
        if (outcome.kind === "dead")
          throw new NonRetryableError(`${name} failed permanently: ${outcome.reason}`);
        throw new Error(retryMessage(name, outcome.reason, outcome.afterMs));
      });
      steps.push({ step: name, status });
    }
    return { status: "delivered", steps };
  }
}

/**
 * Retry-After travels to the delay function inside the error message (errors cross an RPC
 * boundary, custom fields do not). The marker leads the message, so backend text, which only
 * ever follows it, cannot forge one.
 */
const RETRY_AFTER = /^retry-after (\d+) ms; /;

function retryMessage(step: string, reason: string, afterMs: number | undefined): string {
  return `${afterMs === undefined ? "" : `retry-after ${afterMs} ms; `}${step} failed: ${reason}`;
}

function stepConfig(env: Env): WorkflowStepConfig {
  const scale = Number(env.RETRY_DELAY_SCALE ?? VARS.RETRY_DELAY_SCALE);
  const base = STEP_RETRY.delayMs * scale;
  return {
    retries: {
      limit: STEP_RETRY.limit,
      backoff: STEP_RETRY.backoff,
      // Exponential backoff multiplies what this returns by 2^(attempt-1); dividing the
      // requested wait by the same factor makes the next attempt start no sooner than asked.
      delay: ({ ctx, error }) => {
        const asked = Number(RETRY_AFTER.exec(error.message)?.[1] ?? 0);
        return Math.max(base, asked / 2 ** (ctx.attempt - 1));
      },
    },
    timeout: STEP_RETRY.timeoutMs,
  };
}
