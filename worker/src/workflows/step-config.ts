import type { WorkflowStepConfig } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { delayScale } from "../settings/vars.ts";
import { STEP_RETRY } from "../topology.ts";

/**
 * Retry-After travels to the delay function inside the error message (errors cross an RPC
 * boundary, custom fields do not). The marker leads the message, so backend text, which only
 * ever follows it, cannot forge one.
 */
export const RETRY_AFTER = /^retry-after (\d+) ms; /;

export function retryMessage(step: string, reason: string, afterMs: number | undefined): string {
  return `${afterMs === undefined ? "" : `retry-after ${afterMs} ms; `}${step} failed: ${reason}`;
}

export function stepConfig(env: Env, retries: number = STEP_RETRY.limit): WorkflowStepConfig {
  const base = STEP_RETRY.delayMs * delayScale(env);
  return {
    retries: {
      limit: Math.max(0, retries),
      backoff: STEP_RETRY.backoff,
      // Exponential backoff multiplies what this returns by 2^(attempt-1); dividing the
      // requested wait by the same factor makes the next attempt start no sooner than asked.
      // It must never throw: the engine fails the step for good on a delay function that
      // throws (or answers late), which hands the event to the recovery tier a minute later
      // instead of retrying it in seconds.
      delay: ({ ctx, error }) => {
        const message: unknown = (error as { message?: unknown } | undefined)?.message;
        const asked = Number((typeof message === "string" ? RETRY_AFTER.exec(message)?.[1] : undefined) ?? 0);
        const attempt = Number.isInteger(ctx?.attempt) && ctx.attempt > 0 ? ctx.attempt : 1;
        const wait = Math.max(base, asked / 2 ** (attempt - 1));
        return Number.isFinite(wait) ? wait : base;
      },
    },
    timeout: STEP_RETRY.timeoutMs,
  };
}
