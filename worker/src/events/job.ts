import * as z from "zod";
import { LIMITS } from "../topology.ts";
import { CATALOG, type EventName } from "./catalog.ts";

export const INSTANCE_ID = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,${LIMITS.instanceIdLength - 1}}$`);

/** Ids Cloudflare reserves: a createBatch call containing one fails for every instance in it. */
export function isReservedInstanceId(id: string): boolean {
  return id === "batch" || id === "terminate" || id === "terminateAll" || /^cf_[0-9a-f]{64}$/.test(id);
}

/**
 * A producer's label (trace id, idempotency key): any text SDK 0.1.5 accepts, Arabic included,
 * without control characters or surrounding whitespace. Empty is allowed: the legacy SDK sends
 * what the caller gave it. Header-unsafe values are encoded on the way out (`header-value.ts`).
 * Also the `pattern` of labels in the OpenAPI document.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters is its purpose.
const LABEL = /^(?:[^\s\u0000-\u001f\u007f](?:[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f])?)?$/;
const label = (max: number) =>
  z.string().max(max).regex(LABEL, "must not contain control characters, nor start or end with whitespace");
export const traceId = label(LIMITS.traceIdLength);
export const idempotencyKey = label(LIMITS.idempotencyKeyLength);
/** What the legacy SDK sends checks nothing: any string, kept as sent where it can be. */
export const anyLabel = z.string();

/**
 * What a Workflow instance receives: one normalised event, whichever producer shape it came in.
 * `runAt` is absolute so a replayed instance sleeps until the same moment.
 */
export const JobParamsSchema = z.object({
  id: z.string().regex(INSTANCE_ID),
  name: z.enum(Object.keys(CATALOG) as [EventName, ...EventName[]]),
  payload: z.record(z.string(), z.unknown()),
  traceId,
  // As sent: SDK 0.1.5's are checked at the edge, the legacy SDK's are any string.
  idempotencyKey: anyLabel,
  createdAt: z.string(),
  runAt: z.number().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type JobParams = z.infer<typeof JobParamsSchema>;

export interface Admitted {
  job: JobParams;
  /** SHA-256 of the item's canonical JSON: what makes a re-send "the same content". */
  digest: string;
  /**
   * Why a new event of this name is refused (it is retired). Decided at recording: an exact
   * re-send of one accepted before the retirement is still that event, and still accepted.
   */
  retired?: string;
}

/** The payload's tenant: a trimmed text or a number written as text; null when there is none. */
export function tenantOf(job: JobParams): string | null {
  const tenant = job.payload.tenantId;
  if (typeof tenant === "number" && Number.isFinite(tenant)) return String(tenant);
  return typeof tenant === "string" ? tenant.trim() || null : null;
}
