import type { Api } from "./api.ts";
import type { DrillBackend } from "./backend.ts";
import { callsOf, performed } from "./calls.ts";
import type { DrillEvent } from "./groups.ts";
import { STEP_2 } from "./settings.ts";

/** Whether an event is in the state its group was to reach before the switch, and what was seen. */
async function observe(
  e: DrillEvent,
  client: Api,
  backend: DrillBackend,
  lists: { retrying: Set<string>; dead: Set<string> },
): Promise<{ reached: boolean; seen: string }> {
  const calls = callsOf(backend.calls, e.id);
  const status = await client.status(e.id);
  const seen = `${status}, ${calls.length} calls`;
  switch (e.group) {
    case "accepted":
      return { reached: status === "queued" && calls.length === 0, seen };
    case "sleeping":
      // Its instance exists (the caller waited for the creations) and sleeps: SDK words for that
      // are `scheduled`, but the local engine reports a sleeping instance as running.
      return { reached: ["scheduled", "running", "waiting"].includes(status) && calls.length === 0, seen };
    case "cancelled":
      return { reached: status === "cancelled" && calls.length === 0, seen };
    case "between-steps": {
      const second = calls.filter((c) => c.path === STEP_2);
      const midway =
        performed(backend.calls, e.id, "payment/validate-payout") &&
        !performed(backend.calls, e.id, STEP_2) &&
        second.length > 0 &&
        !lists.retrying.has(e.id) &&
        !lists.dead.has(e.id);
      const last = second.at(-1);
      const detail = last ? (last.status === 0 ? "step 2 in flight" : `step 2 answered ${last.status}`) : "";
      return { reached: midway, seen: `${seen}${detail ? `, ${detail}` : ""}` };
    }
    case "retrying":
      return {
        reached: lists.retrying.has(e.id),
        seen: `${seen}${lists.retrying.has(e.id) ? ", retrying" : ""}`,
      };
    case "dead-replayed":
    case "dead-kept":
      return { reached: lists.dead.has(e.id), seen: `${seen}${lists.dead.has(e.id) ? ", dead" : ""}` };
  }
}

/**
 * Observes each of `list` (from the calls as last read) and records whether it reached its
 * group's state and what was seen: whether every dispatched one did.
 */
export async function reached(client: Api, backend: DrillBackend, list: DrillEvent[]): Promise<boolean> {
  const seen = {
    retrying: await client.failed("retrying"),
    dead: await client.failed("dead"),
  };
  for (const e of list) {
    const o = await observe(e, client, backend, seen);
    e.reached = o.reached;
    e.atSwitch = o.seen;
  }
  return list.every((e) => e.reached || !e.dispatched);
}
