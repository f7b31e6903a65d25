/** The Workers runtime the worker is built for: its date, and the flags it sets beside it. Import-free, like topology.ts. */

export const COMPATIBILITY_DATE = "2026-11-01";
/**
 * Flags the worker relies on, with the date each became the default. A deployment at
 * COMPATIBILITY_DATE gets every flag that is not yet a default there; local runtimes get them
 * all, because the local Workflows engine runs on an older date and honours only the flags.
 */
export const COMPATIBILITY_FLAGS = [
  /** Keeps a NonRetryableError's message in the instance status. */
  { flag: "workflows_preserve_non_retryable_error_message", defaultFrom: "2026-05-14" },
] as const;

export const LOCAL_COMPATIBILITY_FLAGS = COMPATIBILITY_FLAGS.map((f) => f.flag);
/** ISO dates compare as strings. */
export const DEPLOYED_COMPATIBILITY_FLAGS = COMPATIBILITY_FLAGS.filter(
  (f) => f.defaultFrom > COMPATIBILITY_DATE,
).map((f) => f.flag);
