import type { DrillBackend } from "./backend.ts";
import { type Direction, inGroup } from "./context.ts";
import { STEP_2 } from "./settings.ts";

/** The backend's faults while the first release runs: what holds each group in its state. */
export async function firstFaults(backend: DrillBackend, d: Direction): Promise<void> {
  for (const e of inGroup(d, "retrying")) {
    // Every workflow attempt fails, so it is handed over; then the ladder waits 30 s a rung.
    await backend.addFault({ eventId: e.id, status: 500, count: 4, error: "injected 500 (workflow tier)" });
    await backend.addFault({
      eventId: e.id,
      status: 503,
      retryAfter: "30",
      error: "injected 503 (held on the ladder)",
    });
  }
  for (const [i, e] of inGroup(d, "between-steps").entries()) {
    // Step 1 passes; step 2 is slow (still under way when the release stops) or answers 503
    // asking for 15 s, so four attempts outlast the first phase.
    if (i % 2 === 1)
      await backend.addFault({ eventId: e.id, path: STEP_2, status: 200, latencyMs: 40_000, count: 1 });
    await backend.addFault({ eventId: e.id, path: STEP_2, status: 503, retryAfter: "15" });
  }
  for (const e of [...inGroup(d, "dead-replayed"), ...inGroup(d, "dead-kept")])
    await backend.addFault({
      eventId: e.id,
      status: 422,
      count: 1,
      error: "injected 422 (refused until fixed)",
    });
}

/**
 * The switch: the backend is fixed, but the retrying events fail twice more and step 2 once more
 * on the second release, so it runs retries of work the first one started.
 */
export async function switchFaults(backend: DrillBackend, d: Direction): Promise<void> {
  await backend.clearFaults();
  for (const e of inGroup(d, "retrying")) await backend.addFault({ eventId: e.id, status: 500, count: 2 });
  for (const e of inGroup(d, "between-steps"))
    await backend.addFault({ eventId: e.id, path: STEP_2, status: 503, retryAfter: "1", count: 1 });
}
