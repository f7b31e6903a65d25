import type { Api } from "./api.ts";
import { type Direction, inGroup } from "./context.ts";
import { NAMES } from "./groups.ts";

/** Phase 3: dead events waiting for a replay: half one by one, the rest by the bulk route's filter. */
export async function replayDead(d: Direction, client: Api): Promise<void> {
  const toReplay = inGroup(d, "dead-replayed").filter((e) => e.dispatched);
  const byOne = toReplay.slice(0, Math.ceil(toReplay.length / 2));
  let replayed = 0;
  for (const e of byOne) if (await client.replay(e.id)) replayed += 1;
  const dry = await client.bulkReplay({ name: NAMES["dead-replayed"], dryRun: true });
  const bulk = await client.bulkReplay({ name: NAMES["dead-replayed"], dryRun: false });
  replayed += bulk.ids.length;
  if (replayed !== toReplay.length)
    d.problems.push(
      `${d.name}: ${replayed} of ${toReplay.length} dead events replayed (one by one ${byOne.length}, bulk dry run matched ${dry.matched}, bulk ${bulk.ids.length})`,
    );
  const foreign = bulk.ids.filter((id) => !toReplay.some((e) => e.id === id));
  if (foreign.length)
    d.problems.push(`${d.name}: the bulk replay took events it was not meant to: ${foreign.join(", ")}`);
}
