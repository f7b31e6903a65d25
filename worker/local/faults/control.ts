import { PLATFORM_FAULTS_PATH, type PlatformFaults } from "./config.ts";
import type { PlatformFaultStats } from "./inject.ts";
import type { Usage } from "./meter.ts";

/**
 * What the wrapper's control route answers: the faults in force, what they did so far, and what
 * the worker asked of its bindings meanwhile (a POST starts all three over).
 */
export interface PlatformFaultsState {
  faults: PlatformFaults;
  stats: PlatformFaultStats;
  usage: Usage;
}

async function control(url: string, init?: RequestInit): Promise<PlatformFaultsState> {
  const response = await fetch(new URL(PLATFORM_FAULTS_PATH, url), init);
  if (!response.ok) {
    throw new Error(`${PLATFORM_FAULTS_PATH} answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as PlatformFaultsState;
}

/** Reads the faults and stats of a runtime started with `platformFaults` (for drills and tests). */
export const readPlatformFaults = (url: string) => control(url);

/** Replaces a running runtime's faults; starts the draws over from the seed and zeroes the stats. */
export const setPlatformFaults = (url: string, faults: PlatformFaults) =>
  control(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
