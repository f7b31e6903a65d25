import type { Group } from "./groups.ts";

export interface GroupResult {
  group: Group;
  what: string;
  events: number;
  dispatched: number;
  reachedAtSwitch: number;
  delivered: number;
  dead: number;
  cancelled: number;
  missing: number;
  /** Calls for these events under a key that is not `<event id>:<one of its steps>`. */
  differentKey: number;
  /** Calls that performed a step after the event's cancel was acknowledged. */
  performedAfterCancel: number;
  /** Calls before the event's due time. */
  earlyCalls: number;
  /** 2xx answers beyond the first per key: absorbed by the reference backend's deduplication. */
  redundantDeliveries: number;
  /** Calls made once the second release took over. */
  callsAfterSwitch: number;
  /** Events whose final /status is not what the backend saw (complete, dead, cancelled). */
  falseStatuses: number;
  unexpected: string[];
  finalStatuses: Record<string, number>;
  missingIds: string[];
  notReachedAtSwitch: string[];
  /** What was seen of the group just before the first release stopped: /status, calls, step 2. */
  atSwitch: Record<string, number>;
}

export interface DirectionResult {
  direction: string;
  first: string;
  second: string;
  stateDir: string;
  phaseSeconds: { first: number; switch: number; drain: number };
  groups: GroupResult[];
  notes: string[];
  problems: string[];
  workerLogs: Record<string, Record<string, number>>;
}
