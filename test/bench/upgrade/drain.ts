import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Api } from "./api.ts";
import { delivered } from "./calls.ts";
import type { Direction, DrillContext } from "./context.ts";
import { type DrillEvent, EXPECTED } from "./groups.ts";
import { stop } from "./live.ts";
import type { RuntimeHandle } from "./releases.ts";
import { DRAIN_MS, QUIET_MS, sleep } from "./settings.ts";

/**
 * Phase 4, drain: until every event is delivered, dead or cancelled as its group should end,
 * bounded; then every final /status, and the second release stopped. The dead, and how long it took.
 */
export async function drain(
  ctx: DrillContext,
  d: Direction,
  runtime: RuntimeHandle,
  client: Api,
  times: { dueAt: number; servingAt: number },
): Promise<{ dead: Set<string>; drainSeconds: number }> {
  const dispatched = d.events.filter((e) => e.dispatched);
  let dead = new Set<string>();
  const settled = (e: DrillEvent) =>
    EXPECTED[e.group] === "delivered"
      ? delivered(ctx.backend.calls, e)
      : EXPECTED[e.group] === "dead"
        ? dead.has(e.id)
        : e.finalStatus === "cancelled";
  const drainDeadline = Date.now() + DRAIN_MS;
  let quietSince: number | undefined;
  for (let i = 0; i < 1000 && Date.now() < drainDeadline; i++) {
    try {
      dead = await client.failed("dead");
      for (const e of dispatched.filter((x) => x.group === "cancelled"))
        e.finalStatus = await client.status(e.id);
    } catch {
      // Busy: next round.
    }
    const open = dispatched.filter((e) => !settled(e));
    // Past the delayed events' time too, so a cancelled one that woke would be seen.
    if (open.length === 0 && Date.now() > times.dueAt + QUIET_MS) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= QUIET_MS) break;
    } else quietSince = undefined;
    await sleep(1000);
  }
  const drainSeconds = (Date.now() - times.servingAt) / 1000;
  dead = await client.failed("dead").catch(() => dead);
  for (const e of dispatched)
    e.finalStatus = await client.status(e.id).catch((error: Error) => error.message);
  await stop(ctx.live, runtime);
  console.log(`${d.second.label} drained for ${drainSeconds.toFixed(1)} s`);
  await writeFile(join(d.stateDir, "worker.log"), `${d.lines.join("\n")}\n`);
  return { dead, drainSeconds };
}
