import type { Env } from "../env.ts";
import { type InstanceReading, instanceReading } from "../instances/status.ts";
import { log } from "../log.ts";
import { type ProducerStatus, resentStatus } from "../operations/producer-status.ts";
import { type Recorded, recordAccepted } from "../store/admission.ts";
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
    recorded = await withinBudget(recordAccepted(env.DB, events, now), budgetMs);
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
  const readings = await runningReadings(env, recorded, events);
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
        ? resentStatus(outcome.state, outcome.runAt, readings.get(job.id) ?? "unavailable", now)
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

/** Instance look-ups at once for the re-sent events of one request, and how long they may take. */
const RESENT_LOOKUPS = 10;
const RESENT_BUDGET_MS = 2_000;

/**
 * What the instances of re-sent events still in the workflow tier say: a delivery whose receipt
 * was lost is complete, not queued. Bounded in time: an instance not read by then is "unavailable"
 * (the answer says unknown, never a state it did not read).
 */
async function runningReadings(
  env: Env,
  recorded: ReadonlyMap<string, Recorded>,
  events: readonly { job: { id: string; name: string } }[],
): Promise<Map<string, InstanceReading>> {
  const running = events
    .map(({ job }) => job)
    .filter((job) => {
      const outcome = recorded.get(job.id);
      return outcome?.kind === "duplicate" && (outcome.state === "accepted" || outcome.state === "started");
    });
  const readings = new Map<string, InstanceReading>();
  if (running.length === 0) return readings;
  const pending = [...running];
  const worker = async () => {
    for (let job = pending.shift(); job; job = pending.shift())
      readings.set(job.id, await instanceReading(env, job.id, job.name));
  };
  const all = Promise.all(Array.from({ length: RESENT_LOOKUPS }, worker));
  await Promise.race([all, new Promise((r) => setTimeout(r, RESENT_BUDGET_MS))]);
  // What is not read by now stays out of the map (a late answer changes nothing: copied here).
  return new Map(readings);
}
