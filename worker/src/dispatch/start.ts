import type { Env } from "../env.ts";
import { CATALOG } from "../events/catalog.ts";
import type { JobParams } from "../events/job.ts";
import { LIMITS, WORKFLOWS, type WorkflowKind } from "../topology.ts";

/** Cloudflare reports an id that already exists with this code; for us that means "done". */
const ALREADY_EXISTS = 10405;

export interface StartOutcome {
  started: string[];
  failed: { id: string; error: string }[];
}

/**
 * Creates one instance per job on its event's Workflow, in `createBatch` calls that respect
 * the platform's 100-instance and 1 MiB ceilings. A failed call fails only its own chunk.
 */
export async function startInstances(env: Env, jobs: readonly JobParams[]): Promise<StartOutcome> {
  const outcome: StartOutcome = { started: [], failed: [] };
  await Promise.all(route(jobs).map(({ kind, jobs: part }) => createChunk(env, kind, part, outcome)));
  return outcome;
}

/** Which Workflow each job goes to, in createBatch-sized chunks. */
export function route(jobs: readonly JobParams[]): { kind: WorkflowKind; jobs: JobParams[] }[] {
  const byWorkflow = Map.groupBy(jobs, (job) => CATALOG[job.name].workflow);
  return [...byWorkflow].flatMap(([kind, group]) => chunk(group).map((part) => ({ kind, jobs: part })));
}

async function createChunk(
  env: Env,
  kind: WorkflowKind,
  jobs: JobParams[],
  outcome: StartOutcome,
): Promise<void> {
  try {
    const result = await env[WORKFLOWS[kind].binding].createBatch({
      instances: jobs.map((job) => ({ id: job.id, params: job })),
    });
    const rejected = new Map(
      result.errors.filter((e) => e.code !== ALREADY_EXISTS).map((e) => [jobs[e.index]?.id, e]),
    );
    for (const job of jobs) {
      const error = rejected.get(job.id);
      if (error)
        outcome.failed.push({ id: job.id, error: `Workflow rejected the instance: ${error.message}` });
      else outcome.started.push(job.id);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, LIMITS.errorTextLength) : "unknown";
    for (const job of jobs) {
      outcome.failed.push({
        id: job.id,
        error: `Could not start the workflow, retry this event (${reason})`,
      });
    }
  }
}

/** Splits jobs into groups within the createBatch ceilings, keeping their order. */
export function chunk(jobs: readonly JobParams[]): JobParams[][] {
  const chunks: JobParams[][] = [];
  let current: JobParams[] = [];
  let bytes = 0;
  for (const job of jobs) {
    const size = new TextEncoder().encode(JSON.stringify(job)).byteLength;
    if (
      current.length === LIMITS.createBatchInstances ||
      (current.length > 0 && bytes + size > LIMITS.createBatchBytes)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(job);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
