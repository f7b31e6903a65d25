import type { EventName } from "../../worker/src/events/catalog.ts";
import { VALID_PAYLOADS } from "./payloads.ts";

/** A producer and an operator of a running worker, for end-to-end runs and drills. */
export function client(url: string, tokens: { producer: string; operator: string }) {
  const call =
    (token: string) =>
    (path: string, init: RequestInit = {}) =>
      fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
  const api = call(tokens.producer);
  const operatorApi = call(tokens.operator);
  return {
    /** Dispatches valid envelopes for `events`, `perRequest` at a time; throws unless every one is started. */
    async dispatchAll(events: readonly { id: string; name: EventName }[], perRequest = 100): Promise<void> {
      for (let i = 0; i < events.length; i += perRequest) {
        const batch = events.slice(i, i + perRequest).map(({ id, name }) => ({
          id,
          name,
          payload: VALID_PAYLOADS[name].payload,
          traceId: `trace-${id}`,
          idempotencyKey: id,
          createdAt: new Date().toISOString(),
        }));
        const response = await api("/dispatch", { method: "POST", body: JSON.stringify({ events: batch }) });
        const body = (await response.json()) as { ids?: string[] };
        if (body.ids?.length !== batch.length)
          throw new Error(`dispatch: ${JSON.stringify(body).slice(0, 300)}`);
      }
    },
    /** Every failed event in `status`, id → last error, across all pages. */
    async failed(status: "dead" | "delivered" | "retrying"): Promise<Map<string, string>> {
      const found = new Map<string, string>();
      for (let cursor: string | undefined, more = true; more; ) {
        const path = `/failed-events?status=${status}&limit=200${cursor ? `&cursor=${cursor}` : ""}`;
        let response = await operatorApi(path);
        // Under injected platform faults a page can meet D1 down (503): ask again.
        for (let tries = 1; response.status === 503 && tries < 10; tries++) {
          await new Promise((r) => setTimeout(r, 200));
          response = await operatorApi(path);
        }
        if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
        const page = (await response.json()) as {
          events: { id: string; lastError: string }[];
          nextCursor?: string;
        };
        for (const e of page.events) found.set(e.id, e.lastError);
        cursor = page.nextCursor;
        more = cursor !== undefined;
      }
      return found;
    },
  };
}
