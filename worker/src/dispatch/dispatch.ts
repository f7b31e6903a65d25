import type { Env } from "../env.ts";
import { log } from "../log.ts";
import { type Claim, claimReceipts, settleReceipts } from "../store/receipts.ts";
import { admit } from "./admit.ts";
import { startInstances } from "./start.ts";

export interface DispatchResult {
  ids: string[];
  instances: { id: string; name: string; status: "queued" | "scheduled" }[];
  errors?: { id: string; error: string }[];
}

/**
 * Admits a batch: validates every item, claims a receipt per id so a re-send starts nothing
 * twice, creates the new instances, and reports each item's fate in the order it came.
 */
export async function dispatch(env: Env, items: readonly unknown[], now: number): Promise<DispatchResult> {
  const { admitted, errors } = await admit(items, now);

  const claims = await claimReceipts(
    env.DB,
    [...admitted.values()].map(({ job, digest }) => ({
      id: job.id,
      digest,
      name: job.name,
      scheduled: job.runAt !== undefined,
    })),
    now,
  );
  const owned = [...admitted.values()].filter(({ job }) => claims.get(job.id)?.kind === "owned");
  const { started, failed } = await startInstances(
    env,
    owned.map(({ job }) => job),
  );
  await settleReceipts(
    env.DB,
    started,
    failed.map((f) => f.id),
  );
  errors.push(...failed);
  const failedIds = new Set(failed.map((f) => f.id));

  const result: DispatchResult = { ids: [], instances: [] };
  for (const { job } of admitted.values()) {
    const claim = claims.get(job.id) as Claim;
    if (claim.kind === "conflict") {
      errors.push({
        id: job.id,
        error: "Conflicting duplicate id: an event with this id and different content was already dispatched",
      });
      continue;
    }
    if (claim.kind === "in-flight") {
      errors.push({
        id: job.id,
        error: "Duplicate id still being dispatched by another request; retry this event",
      });
      continue;
    }
    if (failedIds.has(job.id)) continue;
    const scheduled = claim.kind === "duplicate" ? claim.scheduled : job.runAt !== undefined;
    result.ids.push(job.id);
    result.instances.push({ id: job.id, name: job.name, status: scheduled ? "scheduled" : "queued" });
    log.info(claim.kind === "owned" ? "dispatch.started" : "dispatch.duplicate", {
      eventId: job.id,
      traceId: job.traceId,
      event: job.name,
    });
  }
  if (errors.length > 0) result.errors = errors;
  return result;
}
