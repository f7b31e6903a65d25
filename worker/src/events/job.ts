import * as z from "zod";
import { LIMITS } from "../topology.ts";
import { CATALOG, type EventName } from "./catalog.ts";

export const INSTANCE_ID = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,${LIMITS.instanceIdLength - 1}}$`);

/** Ids Cloudflare reserves: a createBatch call containing one fails for every instance in it. */
export function isReservedInstanceId(id: string): boolean {
  return id === "batch" || id === "terminate" || id === "terminateAll" || /^cf_[0-9a-f]{64}$/.test(id);
}

/** Printable ASCII without spaces: safe to place in an HTTP header as is. */
export const headerToken = z
  .string()
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .max(LIMITS.headerValueLength);

/**
 * What a Workflow instance receives: one normalised event, whichever producer shape it came in.
 * `runAt` is absolute so a replayed instance sleeps until the same moment.
 */
export const JobParamsSchema = z.object({
  id: z.string().regex(INSTANCE_ID),
  name: z.enum(Object.keys(CATALOG) as [EventName, ...EventName[]]),
  payload: z.record(z.string(), z.unknown()),
  traceId: headerToken,
  idempotencyKey: headerToken,
  createdAt: z.string(),
  runAt: z.number().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type JobParams = z.infer<typeof JobParamsSchema>;
