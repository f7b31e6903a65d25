import type { Miniflare } from "miniflare";
import { CATALOG, isEventName } from "../src/events/catalog.ts";
import { chunks, inSlices } from "../src/events/chunks.ts";
import { recoveryPointer } from "../src/recovery/message.ts";
import { DATABASE, LIMITS, QUEUES, WORKFLOWS } from "../src/topology.ts";

type Instance = {
  status(): Promise<{ status: string }>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  restart(): Promise<void>;
};
type Bindings = Record<string, unknown> & {
  [DATABASE.binding]: { prepare(sql: string): { all<T>(): Promise<{ results: T[] }> } };
  [QUEUES.recovery.binding]: { sendBatch(messages: { body: unknown }[]): Promise<void> };
};

const PARALLEL = 16;

export interface InFlight {
  started: { id: string; name: string }[];
  retrying: { id: string }[];
}
export type InFlightDatabase = Bindings[typeof DATABASE.binding];

/** Which events were in flight, read before the worker serves (a fresh state has no tables yet). */
export async function readInFlight(db: InFlightDatabase): Promise<InFlight> {
  const started = await db
    .prepare("SELECT id, name FROM events WHERE state IN ('accepted', 'started')")
    .all<{ id: string; name: string }>()
    .then(({ results }) => results)
    .catch(() => []);
  const retrying = await db
    .prepare("SELECT id FROM events WHERE state = 'retrying'")
    .all<{ id: string }>()
    .then(({ results }) => results)
    .catch(() => []); // No failure recorded yet: no table.
  return { started, retrying };
}

/**
 * Cloudflare wakes a sleeping or retrying instance after any restart; the local engine keeps
 * its timers in memory and forgets them. After a restart on persisted state this moves every
 * instance that was in flight again:
 * - started ones (running, waiting, paused) are paused and resumed, which replays them from
 *   their durable step cache: finished steps are not called again, sleeps end on time;
 * - queued ones never ran a step, so they are simply started again;
 * - local queues keep messages in memory too, so every failed event still retrying gets its
 *   recovery pointer again (a duplicate pointer is harmless: the consumer skips settled events
 *   and the backend deduplicates).
 */
export async function reviveInFlight(
  miniflare: Miniflare,
  { started: rows, retrying }: InFlight,
): Promise<number> {
  const env = await miniflare.getBindings<Bindings>();
  let revived = 0;
  const revive = async ({ id, name }: { id: string; name: string }) => {
    if (!isEventName(name)) return;
    const workflow = env[WORKFLOWS[CATALOG[name].workflow].binding] as { get(id: string): Promise<Instance> };
    const instance = await workflow.get(id).catch(() => undefined);
    const status = instance && (await instance.status()).status;
    if (!instance || !status) return;
    if (status === "queued") {
      await instance.restart();
    } else if (["running", "waiting", "waitingForPause", "paused"].includes(status)) {
      if (status !== "paused") await instance.pause();
      for (let i = 0; i < 250 && (await instance.status()).status !== "paused"; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await instance.resume();
    } else return;
    revived += 1;
  };
  await inSlices(rows, PARALLEL, revive);
  // As the worker sends them (`sendPointers`): one per event, in sendBatch-sized chunks.
  for (const slice of chunks(retrying, LIMITS.queueSendBatch))
    await env[QUEUES.recovery.binding].sendBatch(slice.map(({ id }) => ({ body: recoveryPointer(id) })));
  return revived + retrying.length;
}
