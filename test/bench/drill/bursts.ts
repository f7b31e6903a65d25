import type { ProducerReport } from "../../support/legacy-producer.ts";
import { type Cancels, cancelDelayed } from "./cancels.ts";
import type { DrillEvent } from "./events.ts";

/** Bursts of concurrent 100-event requests, a few seconds apart. */
export async function dispatchInBursts(
  url: string,
  events: readonly DrillEvent[],
  bursts: number,
  producer: { send(events: readonly DrillEvent[]): Promise<void>; report: ProducerReport },
  cancels: Cancels,
): Promise<void> {
  const perBurst = Math.ceil(events.length / bursts);
  for (let b = 0; b < bursts; b++) {
    const burst = events.slice(b * perBurst, (b + 1) * perBurst);
    const requests = [];
    // Each request's delayed events are cancelled as soon as it is answered.
    for (let i = 0; i < burst.length; i += 100) {
      const batch = burst.slice(i, i + 100);
      requests.push(
        producer.send(batch).then(() =>
          cancelDelayed(
            url,
            batch.filter((e) => e.delayMs !== undefined && producer.report.accepted.has(e.id)),
            cancels,
          ),
        ),
      );
    }
    await Promise.all(requests);
    if (b < bursts - 1) await new Promise((r) => setTimeout(r, 3000));
  }
}
