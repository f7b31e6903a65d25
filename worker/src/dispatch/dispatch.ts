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
): Promise<DispatchResult> {
  const { admitted, errors } = await admit(items, now);
  const events = [...admitted.values()];
  let recorded: Awaited<ReturnType<typeof recordAccepted>>;
  try {
    recorded = await recordAccepted(env.DB, events, now, CREATION.claimMs);
  } catch (error) {
    // Nothing was recorded (the batch is one transaction): the whole request can be retried.
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
