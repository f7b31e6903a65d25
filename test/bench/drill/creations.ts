import { readPlatformFaults } from "../../../worker/local/faults/control.ts";

/** Creations and the 429s the platform answered, over every runtime of the run (each starts at 0). */
export interface Creations {
  peak: number;
  instances: number;
  refusals: number;
}

/** Adds what the runtime at `url` counted to `creations`: read before it stops, and at the end. */
export async function notePeak(url: string, creations: Creations): Promise<void> {
  const { stats } = await readPlatformFaults(url);
  creations.peak = Math.max(creations.peak, stats.peakCreationsPerSecond);
  creations.instances += stats.instances;
  creations.refusals += stats.injected.createRate;
}
