import type { Env } from "../env.ts";
import { CATALOG, type EventName } from "../events/catalog.ts";
import { WORKFLOWS } from "../topology.ts";

/** The instance's live status, or undefined when its Workflow has no such instance. */
export async function instanceStatus(
  env: Env,
  id: string,
  name: EventName,
): Promise<InstanceStatus | undefined> {
  try {
    return await (await env[WORKFLOWS[CATALOG[name].workflow].binding].get(id)).status();
  } catch {
    return undefined;
  }
}

/** How the Workflows API says an instance does not exist. */
export const NOT_FOUND = /not[\s._-]?found/i;

/**
 * Where an event's instance is when its name no longer says which Workflow runs it: looked up
 * in each. "unknown" when some Workflow could not say.
 */
export async function findInstance(env: Env, id: string): Promise<InstanceStatus | "missing" | "unknown"> {
  let unsure = false;
  for (const { binding } of Object.values(WORKFLOWS)) {
    try {
      return await (await env[binding].get(id)).status();
    } catch (error) {
      if (!(error instanceof Error && NOT_FOUND.test(error.message))) unsure = true;
    }
  }
  return unsure ? "unknown" : "missing";
}
