import { bounded } from "../events/bounds.ts";
import { STEP_RETRY } from "../topology.ts";

/** What a backend response means for the event: the decision every retry tier branches on. */
export type Outcome =
  | { kind: "done"; status: number }
  | { kind: "retry"; reason: string; afterMs?: number }
  | { kind: "dead"; reason: string };

const PERMANENT = new Set([404, 409, 422]);

export function classify(status: number, retryAfter: string | null, detail: string, now: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "done", status };
  const reason = `HTTP ${status}${detail ? `: ${bounded(detail)}` : ""}`;
  if (PERMANENT.has(status)) return { kind: "dead", reason };
  const afterMs = status === 429 || status === 503 ? retryAfterMs(retryAfter, now) : undefined;
  return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
}

/** Retry-After as delta-seconds or an HTTP date; capped so a backend cannot park an event for ever. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  // Delta-seconds, or an IMF-fixdate (the only date form HTTP senders may generate).
  const ms = /^\d+$/.test(value)
    ? Number(value) * 1000
    : / GMT$/.test(value)
      ? Date.parse(value) - now
      : Number.NaN;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), STEP_RETRY.maxRetryAfterMs);
}
