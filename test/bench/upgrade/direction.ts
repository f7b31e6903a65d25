import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { accountFor } from "./account.ts";
import type { Direction, DrillContext } from "./context.ts";
import { drain } from "./drain.ts";
import { runFirst } from "./first.ts";
import { eventsOf } from "./groups.ts";
import type { Release } from "./releases.ts";
import { replayDead } from "./replay.ts";
import type { DirectionResult } from "./results.ts";
import { N } from "./settings.ts";
import { switchTo } from "./switch.ts";

/**
 * One direction on fresh state: `first` runs with work put in every state and is stopped
 * mid-flight, `second` takes over on the same state, replays the dead and drains.
 */
export async function runDirection(
  ctx: DrillContext,
  direction: string,
  prefix: string,
  first: Release,
  second: Release,
): Promise<{ result: DirectionResult; account: () => void }> {
  const stateDir = join(ctx.stateRoot, direction);
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const d: Direction = {
    name: direction,
    prefix,
    first,
    second,
    stateDir,
    events: eventsOf(prefix, N),
    notes: [],
    problems: [],
    logs: {},
    lines: [],
  };
  console.log(`\n== ${direction}: ${first.label} → ${second.label}, state in ${stateDir}`);

  const { firstSeconds, dueAt, stoppedAt } = await runFirst(ctx, d);
  const { runtime, client, switchAt, servingAt } = await switchTo(ctx, d, dueAt);
  await replayDead(d, client);
  const { dead, drainSeconds } = await drain(ctx, d, runtime, client, { dueAt, servingAt });

  const result: DirectionResult = {
    direction,
    first: first.label,
    second: second.label,
    stateDir,
    phaseSeconds: {
      first: Math.round(firstSeconds),
      switch: Math.round((servingAt - stoppedAt) / 1000),
      drain: Math.round(drainSeconds),
    },
    groups: [],
    notes: d.notes,
    problems: d.problems,
    workerLogs: d.logs,
  };
  // Accounted once every call of the run has its answer (a slow one may land after the drain).
  const account = () => {
    result.groups = accountFor(ctx.backend.calls, d, switchAt, dead);
  };
  return { result, account };
}
