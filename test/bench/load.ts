import type { Backend } from "../../worker/local/backend.ts";
import { BENCH_TOKEN } from "./runtimes.ts";

export interface LoadResult {
  batchSize: number;
  events: number;
  /** Events accepted per second at /dispatch (sending phase only). */
  acceptedPerSecond: number;
  /** Events whose backend call arrived, per second, from the first dispatch to the last call. */
  deliveredPerSecond: number;
  /** From sending an event's batch to the backend receiving its first call, in ms. */
  latencyMs: { p50: number; p95: number; p99: number };
}

const CONCURRENCY = 4;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** A valid `email/verification` envelope: the same body for the floor and for the worker. */
function event(id: string) {
  return {
    id,
    name: "email/verification",
    payload: { email: "bench@example.com", otpCode: "123456", tenantId: "t_bench" },
    traceId: `trace-${id}`,
    idempotencyKey: id,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Sends `events` events in batches of `batchSize` from CONCURRENCY clients, then waits for the
 * backend to see every one of them.
 */
export async function load(
  url: string,
  backend: Backend,
  prefix: string,
  batchSize: number,
  events: number,
): Promise<LoadResult> {
  const batches = Array.from({ length: Math.ceil(events / batchSize) }, (_, b) =>
    Array.from({ length: batchSize }, (_, i) => event(`${prefix}_${b}_${i}`)),
  );
  const sentAt = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] as ReturnType<typeof event>[];
        const at = Date.now();
        const response = await fetch(`${url}/dispatch`, {
          method: "POST",
          headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ events: batch }),
        });
        const body = (await response.json()) as { ids?: string[] };
        if (response.status !== 200 || body.ids?.length !== batch.length) {
          throw new Error(`dispatch answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
        }
        for (const e of batch) sentAt.set(e.id, at);
      }
    }),
  );
  const acceptedSeconds = (performance.now() - started) / 1000;

  const first = new Map<string, number>();
  const deadline = Date.now() + 300_000;
  for (let seen = 0; first.size < events; ) {
    for (; seen < backend.calls.length; seen++) {
      const call = backend.calls[seen];
      if (call && sentAt.has(call.eventId) && !first.has(call.eventId)) first.set(call.eventId, call.at);
    }
    if (Date.now() > deadline) throw new Error(`only ${first.size} of ${events} events reached the backend`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const lastCall = Math.max(...first.values());
  const latencies = [...first].map(([id, at]) => at - (sentAt.get(id) ?? at)).sort((a, b) => a - b);
  return {
    batchSize,
    events,
    acceptedPerSecond: events / acceptedSeconds,
    deliveredPerSecond: events / ((lastCall - startedAt) / 1000),
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    },
  };
}
