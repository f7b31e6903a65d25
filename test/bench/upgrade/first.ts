import { type Api, api } from "./api.ts";
import { waitUntil } from "./backend.ts";
import { type Direction, type DrillContext, inGroup } from "./context.ts";
import { firstFaults } from "./faults.ts";
import { launch, stop } from "./live.ts";
import { reached } from "./observe.ts";
import { runtimeOptions } from "./options.ts";
import { REACH_MS, SCHEDULED_INTERVAL_MS, SLEEP_MS, sleep } from "./settings.ts";

/** Immediate events, each group held in its state by the backend's faults. */
async function putImmediate(ctx: DrillContext, d: Direction, client: Api): Promise<void> {
  await firstFaults(ctx.backend, d);
  const immediate = [
    ...inGroup(d, "retrying"),
    ...inGroup(d, "between-steps"),
    ...inGroup(d, "dead-replayed"),
    ...inGroup(d, "dead-kept"),
  ];
  await client.dispatch(immediate);
  if (!(await waitUntil(ctx.backend, REACH_MS, () => reached(client, ctx.backend, immediate))))
    d.notes.push(`${d.name}: not every immediate event reached its state within ${REACH_MS / 1000} s`);
}

/** Delayed events, due after the switch; the cancelled half is cancelled once created. When they are due. */
async function putDelayed(ctx: DrillContext, d: Direction, client: Api): Promise<number> {
  const delayed = [...inGroup(d, "sleeping"), ...inGroup(d, "cancelled")];
  const before = d.first.platformFaults ? (await client.platformFaults()).stats.instances : 0;
  const dueAt = Date.now() + SLEEP_MS;
  for (const e of delayed) e.runAt = dueAt;
  await client.dispatch(delayed, () => Date.now());
  const created = delayed.filter((e) => e.dispatched).length;
  if (d.first.platformFaults)
    await waitUntil(
      ctx.backend,
      REACH_MS,
      async () => (await client.platformFaults()).stats.instances >= before + created,
    );
  else await sleep(2000);
  const cancelled = inGroup(d, "cancelled").filter((e) => e.dispatched);
  const half = Math.ceil(cancelled.length / 2);
  for (const e of cancelled.slice(0, half)) if (await client.cancel(e.id)) e.cancelAckedAt = Date.now();
  const many = await client.cancelMany(cancelled.slice(half).map((e) => e.id));
  const ackedAt = Date.now();
  for (const e of cancelled.slice(half)) if (many.has(e.id)) e.cancelAckedAt = ackedAt;
  const refused = cancelled.filter((e) => e.cancelAckedAt === undefined);
  if (refused.length)
    d.problems.push(`${d.name}: ${refused.length} cancels not acknowledged (${refused[0]?.id}, ...)`);
  return dueAt;
}

/** Accepted but never created: createBatch fails from now on, in dispatch and the reconciler. */
async function putAccepted(ctx: DrillContext, d: Direction, client: Api): Promise<void> {
  if (d.first.platformFaults) {
    await client.platformFaults({ createFailRate: 1 });
    await client.dispatch(inGroup(d, "accepted"));
    await waitUntil(
      ctx.backend,
      10_000,
      async () => ((await client.platformFaults()).stats.injected.createFail ?? 0) > 0,
    );
    await sleep(2 * SCHEDULED_INTERVAL_MS); // a reconciler run or two fail to create them too
  } else d.notes.push(`${d.name}: ${d.first.label} has no platform-fault wrapper: state (a) not produced`);
}

/**
 * Phase 1: the first release, work put in every state, then stopped mid-flight. How long it ran,
 * when the delayed events are due and when it stopped.
 */
export async function runFirst(
  ctx: DrillContext,
  d: Direction,
): Promise<{ firstSeconds: number; dueAt: number; stoppedAt: number }> {
  const { first } = d;
  const firstStarted = Date.now();
  const runtime = await launch(ctx.live, first, runtimeOptions(ctx, d, first, first.platformFaults));
  const client = api(runtime.url);
  console.log(
    `${first.label} serving at ${runtime.url} after ${((Date.now() - firstStarted) / 1000).toFixed(1)} s`,
  );

  await putImmediate(ctx, d, client);
  const dueAt = await putDelayed(ctx, d, client);
  await putAccepted(ctx, d, client);

  if (
    !(await waitUntil(ctx.backend, REACH_MS, () =>
      reached(
        client,
        ctx.backend,
        d.events.filter((e) => e.group !== "accepted" || first.platformFaults),
      ),
    ))
  )
    d.notes.push(`${d.name}: not every group reached its state before the switch (see "at the switch")`);
  await reached(client, ctx.backend, d.events);
  const firstSeconds = (Date.now() - firstStarted) / 1000;
  const sinceDispatch = Date.now() - (dueAt - SLEEP_MS);
  await stop(ctx.live, runtime);
  const stoppedAt = Date.now();
  console.log(
    `${first.label} stopped after ${firstSeconds.toFixed(1)} s (delayed events due ${((dueAt - stoppedAt) / 1000).toFixed(1)} s after the stop)`,
  );
  if (sinceDispatch >= SLEEP_MS) d.notes.push(`${d.name}: the delayed events came due before the switch`);
  return { firstSeconds, dueAt, stoppedAt };
}
