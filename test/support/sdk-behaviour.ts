/**
 * How the two producer SDK generations read the worker's answers, written from their behaviour
 * (aashahin/workflows-sdk: legacy HttpTransport at 9d16226, SignedHttpAdapter 0.1.5 at 5fd4d0d),
 * so tests can check every answer the worker gives is read the way the worker means it.
 */

/** What a producer does with an answer, or with one item of it. */
export type Reading =
  | "accepted" // the item is in `ids`: the worker owns it
  | "retry" // the producer sends the same request again (same ids)
  | "permanent" // the producer gives up and reports it as a definite failure
  | "logged only"; // the legacy SDK: a per-item error is logged and the item is gone

/**
 * SDK 0.1.5 marks a per-item error non-retryable only when its text matches this list (its
 * `isNonRetryableDispatchError`); any other text makes the whole partial failure retryable.
 */
const PERMANENT_ITEM_TEXT =
  /invalid event structure|missing events array|workflow payload validation failed|unsupported workflow callback|unknown (event|workflow)|no cloudflare workflow binding|cloudflare workflow receipt conflict|duplicate (?:workflow )?(?:instance )?id|workflow instance already exists|refusing (?:an )?unverified existing id|creation was not verified/i;

/** SDK 0.1.5's whole-request statuses it treats as final; every other failure is retryable. */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 409, 413, 422]);

export const envelopeSdk = {
  status: (status: number): Reading =>
    status >= 200 && status < 300 ? "accepted" : PERMANENT_STATUSES.has(status) ? "permanent" : "retry",
  item: (error: string): Reading => (PERMANENT_ITEM_TEXT.test(error) ? "permanent" : "retry"),
};

export const legacySdk = {
  /** 4xx other than 429 is final; 429, 5xx, timeouts and network errors are retried at 1, 2, 4 s. */
  status: (status: number): Reading =>
    status >= 200 && status < 300
      ? "accepted"
      : status >= 400 && status < 500 && status !== 429
        ? "permanent"
        : "retry",
  /** Per-item errors are never read, only logged: the event is lost to this producer. */
  item: (_error: string): Reading => "logged only",
  /**
   * It reads `result.ids.length` before anything else: an answer without `ids` throws, and the
   * whole batch is sent again, forever within its retry budget.
   */
  answerUsable: (body: unknown): boolean =>
    typeof body === "object" && body !== null && Array.isArray((body as { ids?: unknown }).ids),
};
