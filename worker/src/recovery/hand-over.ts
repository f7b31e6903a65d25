import type { Env } from "../env.ts";
import type { JobParams } from "../events/job.ts";
import { recordFailure } from "../store/failed-events.ts";
import { firstRecoveryDelay } from "./delay.ts";

/**
 * Called from a durable workflow step when the workflow tier is done with an event: it is
 * recorded in D1 and, unless dead, a pointer goes to the recovery queue.
 */
export async function handOver(
  env: Env,
  job: JobParams,
  remainingSteps: readonly string[],
  status: "retrying" | "dead",
  error: string,
  attempts: number,
): Promise<void> {
  await recordFailure(env.DB, { job, remainingSteps, status, error, attempts }, Date.now());
  if (status === "retrying") {
    await env.RECOVERY_QUEUE.send({ eventId: job.id }, { delaySeconds: firstRecoveryDelay(env) });
  }
}
