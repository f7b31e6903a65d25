import * as z from "zod";
import { LIMITS } from "../topology.ts";
import { nestsDeeperThan, payloadProblem } from "./bounds.ts";
import { definitionOf, isEventName } from "./catalog.ts";
import {
  anyLabel,
  INSTANCE_ID,
  idempotencyKey,
  isReservedInstanceId,
  type JobParams,
  traceId,
} from "./job.ts";

const instanceId = z
  .string()
  .regex(INSTANCE_ID, `must match ${INSTANCE_ID.source} (at most ${LIMITS.instanceIdLength} chars)`)
  .refine((id) => !isReservedInstanceId(id), "is reserved by Cloudflare Workflows");
const object = z.record(z.string(), z.unknown());
const isoInstant = z.iso.datetime({ offset: true });

/** SDK 0.1.x HttpTransport: relative delay, payload under `event.data`. */
export const LegacyShape = z.object({
  id: instanceId,
  // The legacy SDK checks nothing and only logs per-item errors: refusing a key or trace id it
  // allowed would lose the event. A trace id that cannot be one (too long, control characters)
  // is replaced by the event's id, as an absent one is.
  idempotencyKey: anyLabel,
  traceId: anyLabel.optional(),
  event: z.object({ name: z.string(), data: object }),
  // The SDK passes the caller's number through unchecked: zero or less means now.
  delayMs: z.number().max(LIMITS.maxDelayMs).optional(),
});
const LegacyItem = LegacyShape.transform((item) => ({
  id: item.id,
  name: item.event.name,
  body: item.event.data,
  bodyPath: "event.data",
  // An absent or empty trace id is the event's own id, as the contract's default.
  traceId: item.traceId && traceId.safeParse(item.traceId).success ? item.traceId : item.id,
  idempotencyKey: item.idempotencyKey,
  at: (now: number) => (item.delayMs && item.delayMs > 0 ? now + Math.ceil(item.delayMs) : undefined),
  createdAt: undefined as string | undefined,
  metadata: undefined as Record<string, unknown> | undefined,
}));

/** SDK 0.1.4+ SignedHttpAdapter: absolute schedule, payload under `payload`. */
export const EnvelopeShape = z.object({
  id: instanceId,
  name: z.string(),
  payload: object,
  traceId,
  idempotencyKey,
  createdAt: isoInstant,
  scheduledAt: isoInstant.optional(),
  metadata: object
    .refine(
      (value) => new TextEncoder().encode(JSON.stringify(value)).byteLength <= LIMITS.metadataBytes,
      `must be at most ${LIMITS.metadataBytes} bytes as JSON`,
    )
    .optional(),
});
const EnvelopeItem = EnvelopeShape.transform((item) => ({
  id: item.id,
  name: item.name,
  body: item.payload,
  bodyPath: "payload",
  traceId: item.traceId || item.id,
  idempotencyKey: item.idempotencyKey,
  at: () => (item.scheduledAt === undefined ? undefined : Date.parse(item.scheduledAt)),
  createdAt: item.createdAt as string | undefined,
  metadata: item.metadata,
}));

export type ItemResult = { ok: true; job: JobParams } | { ok: false; id: string; error: string };

/** Validates one `/dispatch` item of either shape into a job, or says exactly what is wrong. */
export function parseItem(item: unknown, now: number): ItemResult {
  const id = readableId(item);
  const fail = (error: string): ItemResult => ({ ok: false, id, error });
  if (!isRecord(item)) return fail("Invalid event structure: an event must be a JSON object");
  // Bounded before anything walks it: zod, the digest and the workflow params all would.
  if (nestsDeeperThan(item, LIMITS.payloadDepth + 3)) {
    return fail(`Invalid event structure: nests deeper than ${LIMITS.payloadDepth} levels`);
  }

  const shape = (isRecord(item.event) ? LegacyItem : EnvelopeItem).safeParse(item);
  if (!shape.success) return fail(`Invalid event structure: ${describe(shape.error)}`);
  const event = shape.data;

  if (!isEventName(event.name)) return fail(`Unknown event: ${printable(event.name)}`);
  const problem = payloadProblem(event.body);
  if (problem) return fail(`Invalid event structure: ${event.bodyPath} ${problem}`);
  const payload = definitionOf(event.name).schema.safeParse(event.body);
  if (!payload.success) {
    return fail(`Invalid event structure: ${describe(payload.error, event.bodyPath)}`);
  }

  const at = event.at(now);
  if (at !== undefined && at - now > LIMITS.maxDelayMs) {
    return fail("Invalid event structure: scheduledAt is more than 365 days ahead");
  }
  const runAt = at !== undefined && at > now ? at : undefined;

  return {
    ok: true,
    job: {
      id: event.id,
      name: event.name,
      // Validated, then forwarded exactly as the producer sent it: the schema's output (trimmed
      // strings, say) is for checking, not for rewriting what the backend receives.
      payload: event.body as Record<string, unknown>,
      traceId: event.traceId,
      idempotencyKey: event.idempotencyKey,
      createdAt: event.createdAt ?? new Date(now).toISOString(),
      ...(runAt === undefined ? {} : { runAt }),
      ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    },
  };
}

function readableId(item: unknown): string {
  return isRecord(item) && typeof item.id === "string" && INSTANCE_ID.test(item.id) ? item.id : "unknown";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Names the failing fields, a few at most, without echoing their values. */
function describe(error: z.ZodError, prefix?: string): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    return `${path || "event"}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : "";
  return issues.join("; ") + more;
}

/** Event names are echoed in errors, so only a short, plain form of them. */
function printable(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > LIMITS.eventNameLength ? `${clean.slice(0, LIMITS.eventNameLength)}…` : clean;
}
