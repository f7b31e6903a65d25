import type { Call } from "../../../worker/local/backend.ts";
import { callsOf, delivered, ownKey } from "./calls.ts";
import type { Direction } from "./context.ts";
import { type DrillEvent, EXPECTED, firstRefused, GROUPS, type Group, WHAT } from "./groups.ts";
import type { GroupResult } from "./results.ts";

/**
 * Each group's outcome from what the backend saw (`calls`) and what the second release said at
 * the end; what must never happen goes to the direction's problems.
 */
export function accountFor(
  calls: readonly Call[],
  d: Direction,
  switchAt: number,
  dead: ReadonlySet<string>,
): GroupResult[] {
  const { name: direction, prefix, events, problems } = d;
  const group = (g: Group) => events.filter((e) => e.group === g);
  const groups = GROUPS.map((g): GroupResult => {
    const list = group(g);
    const ids = new Set(list.map((e) => e.id));
    const result: GroupResult = {
      group: g,
      what: WHAT[g],
      events: list.length,
      dispatched: list.filter((e) => e.dispatched).length,
      reachedAtSwitch: list.filter((e) => e.reached).length,
      delivered: 0,
      dead: 0,
      cancelled: 0,
      missing: 0,
      differentKey: 0,
      performedAfterCancel: 0,
      earlyCalls: 0,
      redundantDeliveries: 0,
      callsAfterSwitch: 0,
      falseStatuses: 0,
      unexpected: [],
      finalStatuses: {},
      missingIds: [],
      notReachedAtSwitch: list
        .filter((e) => !e.reached)
        .map((e) => `${e.id}: ${e.atSwitch ?? "not dispatched"}`),
      atSwitch: {},
    };
    for (const e of list) {
      const seen = e.atSwitch ?? "not dispatched";
      result.atSwitch[seen] = (result.atSwitch[seen] ?? 0) + 1;
    }
    const answered = new Map<string, number>();
    for (const call of calls) {
      const owner = ids.has(call.eventId) ? call.eventId : call.idempotencyKey.split(":")[0];
      if (owner === undefined || !ids.has(owner)) continue;
      const e = list.find((x) => x.id === owner) as DrillEvent;
      if (!ownKey(call, e)) result.differentKey += 1;
      if (call.performed && e.cancelAckedAt !== undefined && call.at > e.cancelAckedAt)
        result.performedAfterCancel += 1;
      if (e.runAt !== undefined && call.at < e.runAt) result.earlyCalls += 1;
      if (call.at >= switchAt) result.callsAfterSwitch += 1;
      if (call.status >= 200 && call.status < 300)
        answered.set(call.idempotencyKey, (answered.get(call.idempotencyKey) ?? 0) + 1);
    }
    result.redundantDeliveries = [...answered.values()].reduce((sum, n) => sum + n - 1, 0);
    for (const e of list.filter((x) => x.dispatched)) {
      const status = e.finalStatus ?? "?";
      result.finalStatuses[status] = (result.finalStatuses[status] ?? 0) + 1;
      const isDelivered = delivered(calls, e);
      const isDead = dead.has(e.id);
      const isCancelled = status === "cancelled";
      if (isDelivered) result.delivered += 1;
      else if (isDead) result.dead += 1;
      else if (isCancelled) result.cancelled += 1;
      else {
        result.missing += 1;
        result.missingIds.push(`${e.id} (/status ${status}, ${callsOf(calls, e.id).length} calls)`);
      }
      const outcome = isDelivered ? "delivered" : isDead ? "dead" : isCancelled ? "cancelled" : "missing";
      const says = { delivered: "complete", dead: "dead", cancelled: "cancelled", missing: status }[outcome];
      if (status !== says) {
        result.falseStatuses += 1;
        result.unexpected.push(`${e.id}: ${outcome}, but /status says ${status}`);
      }
      if (isDelivered && isDead) result.unexpected.push(`${e.id}: delivered and dead`);
      else if (outcome !== EXPECTED[g] && outcome !== "missing")
        result.unexpected.push(`${e.id}: ${outcome} (expected ${EXPECTED[g]}; /status ${status})`);
    }
    return result;
  });

  for (const r of groups) {
    const where = `${direction}, ${r.group}`;
    if (r.dispatched < r.events)
      problems.push(
        `${where}: ${r.events - r.dispatched} events not accepted at dispatch (${firstRefused(group(r.group))})`,
      );
    if (r.missing) problems.push(`${where}: ${r.missing} missing: ${r.missingIds.slice(0, 5).join("; ")}`);
    if (r.differentKey) problems.push(`${where}: ${r.differentKey} calls under a different key`);
    if (r.performedAfterCancel)
      problems.push(`${where}: ${r.performedAfterCancel} calls performed after an acknowledged cancel`);
    if (r.earlyCalls) problems.push(`${where}: ${r.earlyCalls} calls before the event's due time`);
    if (r.falseStatuses) problems.push(`${where}: ${r.falseStatuses} final /status not what happened`);
    if (r.unexpected.length)
      problems.push(
        `${where}: ${r.unexpected.length} ended otherwise: ${r.unexpected.slice(0, 5).join("; ")}`,
      );
    if (r.group === "dead-kept" && r.callsAfterSwitch)
      problems.push(
        `${where}: ${r.callsAfterSwitch} backend calls after the switch for dead events nobody replayed`,
      );
  }
  // Calls for an event of this direction that name none of them (a key or event id of no event).
  const prefixed = calls.filter(
    (c) => c.eventId.startsWith(`${prefix}_`) && !events.some((e) => e.id === c.eventId),
  );
  if (prefixed.length)
    problems.push(`${direction}: ${prefixed.length} calls for event ids that were never dispatched`);
  return groups;
}
