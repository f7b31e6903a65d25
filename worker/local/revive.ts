import type { Miniflare } from "miniflare";
import { CATALOG, type EventName, isEventName } from "../src/events/catalog.ts";
import { DATABASE, WORKFLOWS } from "../src/topology.ts";

/** Local-engine states that hold work which only a running engine moves forward. */
const IN_FLIGHT = new Set(["queued", "running", "waiting"]);

type Instance = {
  status(): Promise<{ status: string }>;
  pause(): Promise<void>;
  resume(): Promise<void>;
};
type Bindings = Record<string, unknown> & {
  [DATABASE.binding]: { prepare(sql: string): { all<T>(): Promise<{ results: T[] }> } };
};

/**
 * Cloudflare wakes a sleeping or retrying instance after any restart; the local engine only
 * keeps its timers in memory. After a restart on persisted state, this pauses and resumes every
 * instance that was in flight, which replays it from its durable step cache: finished steps are
 * not called again and sleeps end at their original time.
 */
export async function reviveInFlight(miniflare: Miniflare): Promise<number> {
  const env = await miniflare.getBindings<Bindings>();
  let rows: { id: string; name: string }[];
  try {
    rows = (
      await env[DATABASE.binding]
        .prepare("SELECT id, name FROM dispatch_receipts")
        .all<{ id: string; name: string }>()
    ).results;
  } catch {
    return 0; // A fresh state has no receipts table yet.
  }
  let revived = 0;
  for (const { id, name } of rows) {
    if (!isEventName(name)) continue;
    const workflow = env[WORKFLOWS[CATALOG[name as EventName].workflow].binding] as {
      get(id: string): Promise<Instance>;
    };
    const instance = await workflow.get(id).catch(() => undefined);
    if (!instance || !IN_FLIGHT.has((await instance.status()).status)) continue;
    await instance.pause();
    for (let i = 0; i < 100 && (await instance.status()).status !== "paused"; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await instance.resume();
    revived += 1;
  }
  return revived;
}
