import { type Api, api } from "./api.ts";
import type { Direction, DrillContext } from "./context.ts";
import { switchFaults } from "./faults.ts";
import { launch } from "./live.ts";
import { runtimeOptions } from "./options.ts";
import type { RuntimeHandle } from "./releases.ts";

/** Phase 2: the second release started on the first one's state, the backend's faults changed. */
export async function switchTo(
  ctx: DrillContext,
  d: Direction,
  dueAt: number,
): Promise<{ runtime: RuntimeHandle; client: Api; switchAt: number; servingAt: number }> {
  const { second } = d;
  await switchFaults(ctx.backend, d);
  const switchAt = Date.now();
  const runtime = await launch(ctx.live, second, runtimeOptions(ctx, d, second, second.platformFaults));
  const client = api(runtime.url);
  const servingAt = Date.now();
  console.log(
    `${second.label} serving at ${runtime.url} ${((servingAt - switchAt) / 1000).toFixed(1)} s after the stop`,
  );
  if (servingAt > dueAt)
    d.notes.push(`${d.name}: the second release served only after the delayed events came due`);
  return { runtime, client, switchAt, servingAt };
}
