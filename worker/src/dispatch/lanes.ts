import { CATALOG, type EventName, PRIORITIES, type Priority } from "../events/catalog.ts";
import { type JobParams, tenantOf } from "../events/job.ts";
import { CREATION, LIMITS, type WorkflowKind } from "../topology.ts";
import type { Lane } from "./pacer.ts";

/** Jobs that wait for their turns together: one workflow, one class, one tenant. */
export interface CreationLane {
  kind: WorkflowKind;
  lane: Lane;
  jobs: JobParams[];
}

/**
 * Splits jobs into lanes, interactive ones first, each keeping the jobs' order: a request that
 * mixes a one-time code into a campaign, or tenants into one batch, gets a turn for each.
 */
export function lanes(jobs: readonly JobParams[], priorityOf: (name: EventName) => Priority): CreationLane[] {
  const byLane = Map.groupBy(jobs, (job) =>
    JSON.stringify([CATALOG[job.name].workflow, priorityOf(job.name), tenantOf(job) ?? ""]),
  );
  return (
    [...byLane]
      .map(([key, group]) => {
        const [kind, priority, tenant] = JSON.parse(key) as [WorkflowKind, Priority, string];
        return { kind, lane: { priority, tenant }, jobs: group };
      })
      // Interactive first; within a class the shortest lanes first, so a tenant with ten events is
      // not created after another's ten thousand claimed in the same reconciler run.
      .sort(
        (a, b) =>
          PRIORITIES.indexOf(a.lane.priority) - PRIORITIES.indexOf(b.lane.priority) ||
          a.jobs.length - b.jobs.length,
      )
  );
}

/** Takes the next createBatch call's jobs off the front: within the ceilings and the pace. */
export function take(pending: JobParams[], pace: number): JobParams[] {
  const most = Math.max(1, Math.min(LIMITS.createBatchInstances, pace));
  let count = 0;
  let bytes = 0;
  for (const job of pending) {
    const size = new TextEncoder().encode(JSON.stringify(job)).byteLength;
    if (count === most || (count > 0 && bytes + size > LIMITS.createBatchBytes)) break;
    count += 1;
    bytes += size;
  }
  return pending.splice(0, count);
}

/** Splits jobs into createBatch calls at a given pace, keeping their order. */
export function chunk(jobs: readonly JobParams[], pace: number = CREATION.perSecond): JobParams[][] {
  const pending = [...jobs];
  const chunks: JobParams[][] = [];
  while (pending.length > 0) chunks.push(take(pending, pace));
  return chunks;
}
