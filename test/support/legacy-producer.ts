import type { EventName } from "../../worker/src/events/catalog.ts";
import { VALID_PAYLOADS } from "./payloads.ts";

/**
 * A producer that behaves like the legacy SDK's HTTP transport: a 10 s timeout, the whole request
 * sent again with the same ids on a network error, a timeout, 429 or 5xx (after 1, 2 and 4 s),
 * any other 4xx final, and per-item errors only logged: for it, an item with an error is gone.
 */
export interface ProducerReport {
  /** Ids the worker answered as accepted. */
  accepted: Set<string>;
  /** Per-item errors, by message: final for this producer. */
  itemErrors: Map<string, string>;
  /** Requests sent again after a timeout, network error, 429 or 5xx. */
  resends: number;
  /** Batches given up on after every attempt: their events were never accepted. */
  abandonedBatches: number;
  statuses: Record<string, number>;
}

const WAITS_MS = [1000, 2000, 4000];

export function legacyProducer(url: string, token: string, timeoutMs = 10_000) {
  const report: ProducerReport = {
    accepted: new Set(),
    itemErrors: new Map(),
    resends: 0,
    abandonedBatches: 0,
    statuses: {},
  };
  const count = (key: string) => (report.statuses[key] = (report.statuses[key] ?? 0) + 1);

  async function send(events: readonly { id: string; name: EventName; delayMs?: number }[]): Promise<void> {
    const body = JSON.stringify({
      events: events.map(({ id, name, delayMs = 0 }) => ({
        id,
        idempotencyKey: id,
        event: { name, data: VALID_PAYLOADS[name].payload },
        delayMs,
      })),
    });
    for (let attempt = 0; ; attempt++) {
      let retry: boolean;
      try {
        const response = await fetch(`${url}/dispatch`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        count(String(response.status));
        if (response.ok) {
          const result = (await response.json()) as {
            ids: string[];
            errors?: { id: string; error: string }[];
          };
          for (const id of result.ids) report.accepted.add(id);
          for (const e of result.errors ?? []) report.itemErrors.set(e.id, e.error);
          return;
        }
        await response.body?.cancel();
        retry = response.status === 429 || response.status >= 500;
      } catch (error) {
        count(error instanceof Error && error.name === "TimeoutError" ? "timeout" : "network error");
        retry = true;
      }
      const wait = WAITS_MS[attempt];
      if (!retry || wait === undefined) {
        report.abandonedBatches += 1;
        return;
      }
      report.resends += 1;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return { send, report };
}
