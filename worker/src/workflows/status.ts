import type { Env } from "../env.ts";
import { CATALOG, type EventName } from "../events/catalog.ts";
import { WORKFLOWS } from "../topology.ts";

export interface EventStatus {
  id: string;
  name: string;
  status: InstanceStatus["status"];
  output?: unknown;
  error?: string;
}

/** The instance's live status, or undefined when its Workflow has no such instance. */
export async function instanceStatus(
  env: Env,
  id: string,
  name: EventName,
): Promise<EventStatus | undefined> {
  let instance: WorkflowInstance;
  try {
    instance = await env[WORKFLOWS[CATALOG[name].workflow].binding].get(id);
  } catch {
    return undefined;
  }
  const { status, output, error } = await instance.status();
  return {
    id,
    name,
    status,
    ...(output === undefined || output === null ? {} : { output }),
    ...(error ? { error: error.message } : {}),
  };
}
