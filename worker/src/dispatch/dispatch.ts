import type { Env } from "../env.ts";
import { type ProducerStatus, resentStatus } from "../lifecycle/status.ts";
import { log } from "../log.ts";
import { recordAccepted } from "../store/admission.ts";
import { SchemaNotReadyError } from "../store/schema.ts";
import { CREATION } from "../topology.ts";
import { admit } from "./admit.ts";
import { createInstances } from "./creation.ts";

export interface DispatchResult {
  ids: string[];
  instances: { id: string; name: string; status: ProducerStatus }[];
  errors?: { id: string; error: string }[];
}

export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

export class BudgetExceededError extends Error {
  override readonly name = "BudgetExceededError";
}

/** The work's answer, or BudgetExceededError once `ms` have passed (the work goes on regardless). */
async function withinBudget<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: number | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetExceededError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * Admits a batch: validates every item, records the valid ones durably as `accepted` in one
 * transaction, and answers. Per-item errors are only ever about the item itself (invalid, or
 * conflicting with an earlier event of the same id). Creating the instances is the worker's
 * job from here on: it starts now, after the answer (`background`), and what does not get
 * created is picked up by the reconciler.
 */
export async function dispatch(
  env: Env,
  items: readonly unknown[],
  now: number,
  background: (work: Promise<unknown>) => void,
  budgetMs: number = CREATION.recordBudgetMs,
): Promise<DispatchResult> {
  const { admitted, errors } = await admit(items, now);
  const events = [...admitted.values()];
  let recorded: Awaited<ReturnType<typeof recordAccepted>>;
  try {
    recorded = await withinBudget(recordAccepted(env.DB, events, now, CREATION.claimMs), budgetMs);
  } catch (error) {
    // Nothing was recorded (the batch is one transaction), or it may yet be (a slow write): the
    // whole request can be sent again with the same ids, and a re-send of a recorded event is
    // recognised as the same event. Either way the producer is told now, not left waiting.
    if (error instanceof SchemaNotReadyError) throw error;
    log.error("dispatch.store-failed", { error: error instanceof Error ? error.message : "unknown" });
    throw new StoreUnavailableError("Could not record the events");
  }

  const result: DispatchResult = { ids: [], instances: [] };
  const fresh = [];
  for (const { job } of events) {
    const outcome = recorded.get(job.id);
    if (outcome?.kind === "retired") {
      errors.push({ id: job.id, error: outcome.message });
      continue;
    }
    if (outcome?.kind === "conflict") {
      errors.push({
        id: job.id,
        error: "Conflicting duplicate id: an event with this id and different content was already dispatched",
      });
      continue;
    }
    if (outcome?.kind === "new") fresh.push(job);
    // A re-send starts nothing and says where its event is: delivered, dead, cancelled, waiting.
    const status =
      outcome?.kind === "duplicate"
        ? resentStatus(outcome.state, outcome.scheduled)
        : job.runAt !== undefined
          ? "scheduled"
          : "queued";
    result.ids.push(job.id);
    result.instances.push({ id: job.id, name: job.name, status });
    log.info(outcome?.kind === "new" ? "dispatch.accepted" : "dispatch.duplicate", {
      eventId: job.id,
      traceId: job.traceId,
      event: job.name,
    });
  }
  if (fresh.length > 0)
    background(createInstances(env, fresh, "dispatch", { claimedUntil: now + CREATION.claimMs }));
  if (errors.length > 0) result.errors = errors;
  return result;
}
