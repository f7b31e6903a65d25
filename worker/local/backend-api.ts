/** What the reference backend records and accepts on `/control/*`; import-free so tests in workerd can share it. */

export interface Call {
  path: string;
  eventId: string;
  traceId: string;
  idempotencyKey: string;
  tenantId: string | null;
  /** The request body as received. */
  body: string;
  authorized: boolean;
  /** The signature check's verdict when the backend verifies signatures, else null. */
  signature: "ok" | "missing" | "malformed" | "expired" | "mismatch" | "replayed" | null;
  /** The answer's status; -1 when the connection was reset, 0 while unanswered. */
  status: number;
  /** True for the one call that performed its Idempotency-Key; repeats answer 200 and do nothing. */
  performed: boolean;
  /** The injected fault this call met, if any: "503", "reset", "latency 1500 ms", ... */
  fault?: string;
  at: number;
}

export interface Fault {
  /** Matches the path after `/workflows/execute/`, the event id, or both. */
  path?: string;
  eventId?: string;
  status: number;
  /** How many matching calls fail; absent means every one. */
  count?: number;
  /** Chance (0–1) that a matching call fails; a call spared does not use up `count`. */
  rate?: number;
  latencyMs?: number;
  retryAfter?: string;
  /** The answer's `error` text; "injected <status>" when absent. */
  error?: string;
  /** Sent as Location with a 3xx fault. */
  location?: string;
  /** Drop the connection without answering (after any latency); `status` is then ignored. */
  reset?: boolean;
}

/** What the alert sink received on `POST /control/alerts`: a webhook body, as sent. */
export interface Alert {
  /** The request body, parsed: the worker sends `{ text, alert }` (worker/src/alerts/message.ts). */
  body: unknown;
  at: number;
}
