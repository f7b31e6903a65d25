import * as z from "zod";

/**
 * What travels on the recovery queue: a pointer. The event itself stays in D1 (messages cap at
 * 128 KB). Messages outlive releases (the ladder runs for hours, a dead-letter queue for days),
 * so each carries the version of its format: a release reads every version it knows, and a new
 * format is a new version beside the old ones, never a change to one (`npm run check-release`
 * compares each version's schema with the last release's).
 */
export const RECOVERY_MESSAGE_VERSION = 1;

/**
 * Every format this release reads, by version. Version 1 is also what releases before versions
 * sent: `{ eventId }` with no `v`.
 */
export const RECOVERY_MESSAGE_VERSIONS = {
  1: z.object({ v: z.literal(1).optional(), eventId: z.string().min(1).max(200) }),
} as const;

export const RecoveryMessageSchema = RECOVERY_MESSAGE_VERSIONS[RECOVERY_MESSAGE_VERSION];
export type RecoveryMessage = z.infer<typeof RecoveryMessageSchema>;

/** The pointer this release sends. */
export const recoveryPointer = (eventId: string): RecoveryMessage => ({
  v: RECOVERY_MESSAGE_VERSION,
  eventId,
});

export type ReadMessage =
  | { kind: "pointer"; eventId: string }
  /** A version this release does not know: a newer release sent it; it may read it later. */
  | { kind: "newer"; version: number }
  | { kind: "unreadable" };

const Versioned = z.object({ v: z.number().int().positive().optional() });

export function readRecoveryMessage(body: unknown): ReadMessage {
  const versioned = Versioned.safeParse(body);
  if (!versioned.success) return { kind: "unreadable" };
  const version = versioned.data.v ?? 1;
  const schema = (RECOVERY_MESSAGE_VERSIONS as Record<number, z.ZodType<{ eventId: string }>>)[version];
  if (!schema)
    return version > RECOVERY_MESSAGE_VERSION ? { kind: "newer", version } : { kind: "unreadable" };
  const pointer = schema.safeParse(body);
  return pointer.success ? { kind: "pointer", eventId: pointer.data.eventId } : { kind: "unreadable" };
}
