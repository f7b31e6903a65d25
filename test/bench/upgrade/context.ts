import type { DrillBackend } from "./backend.ts";
import type { DrillEvent, Group } from "./groups.ts";
import type { Release, RuntimeHandle } from "./releases.ts";

/** What every direction shares: the backend, the runtimes still running, where state goes. */
export interface DrillContext {
  backend: DrillBackend;
  /** Runtimes still running, so a drill that fails half-way stops them before it exits. */
  live: Set<RuntimeHandle>;
  stateRoot: string;
}

/** One direction under way: its releases, its events, and what it has noted so far. */
export interface Direction {
  name: string;
  /** Starts every event id of this direction. */
  prefix: string;
  first: Release;
  second: Release;
  stateDir: string;
  events: DrillEvent[];
  notes: string[];
  problems: string[];
  /** Warnings, errors and the runtime's own startup lines, counted per release. */
  logs: Record<string, Record<string, number>>;
  /** Every worker log line, written to worker.log in the state folder at the end. */
  lines: string[];
}

export const inGroup = (d: Direction, g: Group) => d.events.filter((e) => e.group === g);
