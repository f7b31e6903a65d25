import type { Env } from "../env.ts";
import { CATALOG, type EventName, isEventName } from "../events/catalog.ts";
import { WORKFLOWS } from "../topology.ts";

/**
 * How an instance that stopped on a permanent failure words its error (a NonRetryableError's
 * message, kept in the instance status): the reconciler reads the step back when the workflow's
 * own record of it was lost, so the event ends dead rather than retried.
 */
export const permanentFailure = (step: string, reason: string) => `${step} failed permanently: ${reason}`;
export function permanentlyFailedStep(error: string): string | undefined {
  return /^(\S+) failed permanently: /.exec(error)?.[1];
}

/** How the Workflows API says an instance does not exist. */
export const NOT_FOUND = /not[\s._-]?found/i;

/** The Workflow that runs an event of this name. */
export const workflowOf = (env: Env, name: EventName): Workflow =>
  env[WORKFLOWS[CATALOG[name].workflow].binding];

/** Whether an instance exists in `workflow`; "unknown" when the platform cannot say. */
export async function lookUp(workflow: Workflow, id: string): Promise<"exists" | "missing" | "unknown"> {
  try {
    await (await workflow.get(id)).status();
    return "exists";
  } catch (error) {
    return error instanceof Error && NOT_FOUND.test(error.message) ? "missing" : "unknown";
  }
}

/**
 * Where an event's instance is: in its event's Workflow, or, when this release does not know its
 * name, in whichever Workflow has it. "unknown" when some Workflow could not say.
 */
export async function locateInstance(
  env: Env,
  id: string,
  name: string,
): Promise<{ instance: WorkflowInstance; status: InstanceStatus } | "missing" | "unknown"> {
  const workflows = isEventName(name)
    ? [workflowOf(env, name)]
    : Object.values(WORKFLOWS).map((w) => env[w.binding]);
  let unsure = false;
  for (const workflow of workflows) {
    try {
      const instance = await workflow.get(id);
      return { instance, status: await instance.status() };
    } catch (error) {
      if (!(error instanceof Error && NOT_FOUND.test(error.message))) unsure = true;
    }
  }
  return unsure ? "unknown" : "missing";
}

/** What the instance says, for `/status` and re-sends: "unavailable" when the platform cannot say. */
export async function instanceReading(env: Env, id: string, name: string): Promise<InstanceReading> {
  const found = await locateInstance(env, id, name);
  return found === "missing" ? "missing" : found === "unknown" ? "unavailable" : found.status;
}

/** The instance's live status, or undefined when there is none (or the platform cannot say). */
export async function instanceStatus(
  env: Env,
  id: string,
  name: string,
): Promise<InstanceStatus | undefined> {
  const found = await locateInstance(env, id, name);
  return typeof found === "string" ? undefined : found.status;
}

/** Like locateInstance, its status only (an event whose name says nothing is looked for everywhere). */
export async function findInstance(
  env: Env,
  id: string,
  name = "",
): Promise<InstanceStatus | "missing" | "unknown"> {
  const found = await locateInstance(env, id, name);
  return typeof found === "string" ? found : found.status;
}

/** What a delivery workflow instance returns (its output), read by the reconciler and `/status`. */
export interface JobResult {
  /**
   * `queued_for_retry`: the workflow tier gave up and the recovery queue owns the event now.
   * `hand_over_pending`: it gave up, but could not record that; the reconciler finishes the
   * hand-over from this output (`remainingSteps`, `error`).
   */
  status: "delivered" | "queued_for_retry" | "hand_over_pending" | "cancelled" | "left_alone";
  steps: { step: string; status: number }[];
  failedStep?: string;
  remainingSteps?: string[];
  error?: string;
}

/**
 * What a running event's instance says, when the row has not caught up: "unavailable" when the
 * platform could not say (never read as "no instance": that would answer queued).
 */
export type InstanceReading = InstanceStatus | "missing" | "unavailable";
