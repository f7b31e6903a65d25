import type { PlatformFaults } from "../../../worker/local/faults/config.ts";
import { VALID_PAYLOADS } from "../../support/payloads.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "../runtimes.ts";
import type { DrillEvent } from "./groups.ts";
import { REQUEST_TIMEOUT_MS, sleep } from "./settings.ts";

/** A dispatch item for `event`: the legacy SDK's shape, or an envelope. */
function itemOf(event: DrillEvent, now: number) {
  const payload = VALID_PAYLOADS[event.name].payload;
  if (event.legacy)
    return {
      id: event.id,
      idempotencyKey: `key-${event.id}`,
      event: { name: event.name, data: payload },
      delayMs: event.runAt === undefined ? 0 : event.runAt - now,
    };
  return {
    id: event.id,
    name: event.name,
    payload,
    traceId: `trace-${event.id}`,
    idempotencyKey: `key-${event.id}`,
    createdAt: new Date(now).toISOString(),
    ...(event.runAt === undefined ? {} : { scheduledAt: new Date(event.runAt).toISOString() }),
  };
}

/** The public HTTP API of a running release, as producers and operators use it. */
export function api(url: string) {
  const call = async (token: string, path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  const json = async <T>(response: Response): Promise<T> => {
    const text = await response.text();
    if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  return {
    /** Sends in batches of 100 like a producer; a 5xx or 429 is sent again, a few times. */
    async dispatch(events: DrillEvent[], at: () => number = Date.now) {
      for (let i = 0; i < events.length; i += 100) {
        const batch = events.slice(i, i + 100);
        for (let attempt = 0; attempt < 4; attempt++) {
          const now = at();
          const body = JSON.stringify({ events: batch.map((e) => itemOf(e, now)) });
          const response = await call(BENCH_TOKEN, "/dispatch", { method: "POST", body }).catch(
            (error: unknown) => error as Error,
          );
          if (response instanceof Response && response.ok) {
            const result = (await response.json()) as {
              ids: string[];
              errors?: { id: string; error: string }[];
            };
            const ids = new Set(result.ids);
            const errors = new Map((result.errors ?? []).map((e) => [e.id, e.error]));
            for (const e of batch) {
              e.dispatched = ids.has(e.id);
              if (!e.dispatched) e.dispatchError = errors.get(e.id) ?? "not in ids";
            }
            break;
          }
          const why = response instanceof Response ? `HTTP ${response.status}` : response.message;
          for (const e of batch) e.dispatchError = why;
          if (response instanceof Response && response.status < 500 && response.status !== 429) break;
          await sleep(1000 * 2 ** attempt);
        }
      }
    },
    async status(id: string): Promise<string> {
      const response = await call(BENCH_TOKEN, `/status/${id}`);
      if (response.status === 404) {
        await response.body?.cancel();
        return "unknown id (404)";
      }
      return (await json<{ status: string }>(response)).status;
    },
    async cancel(id: string): Promise<boolean> {
      const response = await call(BENCH_TOKEN, `/events/${id}/cancel`, { method: "POST" });
      return response.ok && (await json<{ status: string }>(response)).status === "cancelled";
    },
    async cancelMany(ids: string[]): Promise<Set<string>> {
      const response = await call(BENCH_TOKEN, "/events/cancel", {
        method: "POST",
        body: JSON.stringify({ ids }),
      });
      const { results } = await json<{ results: { id: string; status: unknown }[] }>(response);
      return new Set(results.filter((r) => r.status === "cancelled").map((r) => r.id));
    },
    /** The operator API's list of one state, every page. */
    async failed(status: "retrying" | "dead" | "delivered"): Promise<Set<string>> {
      const found = new Set<string>();
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const path = `/failed-events?status=${status}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const body = await json<{ events: { id: string }[]; nextCursor?: string }>(
          await call(BENCH_OPERATOR_TOKEN, path),
        );
        for (const e of body.events) found.add(e.id);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      return found;
    },
    async replay(id: string): Promise<boolean> {
      const response = await call(BENCH_OPERATOR_TOKEN, `/failed-events/${id}/replay`, { method: "POST" });
      await response.body?.cancel();
      return response.status === 202;
    },
    async bulkReplay(filter: { name: string; dryRun: boolean }): Promise<{ matched: number; ids: string[] }> {
      const response = await call(BENCH_OPERATOR_TOKEN, "/failed-events/replay", {
        method: "POST",
        body: JSON.stringify({ status: "dead", ...filter, limit: 500 }),
      });
      return json<{ matched: number; ids: string[] }>(response);
    },
    async platformFaults(faults?: PlatformFaults) {
      const response = await fetch(`${url}/__platform-faults`, {
        ...(faults ? { method: "POST", body: JSON.stringify(faults) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return json<{ stats: { instances: number; injected: Record<string, number> } }>(response);
    },
  };
}

export type Api = ReturnType<typeof api>;
