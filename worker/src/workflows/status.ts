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
