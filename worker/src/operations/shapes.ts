import * as z from "zod";
import { PRIORITIES } from "../events/catalog.ts";
import { FAILURE_STATES } from "../store/failures.ts";
import { PRODUCER_STATUSES } from "./producer-status.ts";

/**
 * The answers the HTTP API gives, as zod schemas: handlers are typed by them and the OpenAPI
 * document is generated from them, so the document cannot drift from what the worker says.
 */

/** At most this many ids per bulk cancel. */
export const MAX_CANCEL_IDS = 1000;
export const BulkCancelRequest = z.object({
  ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_CANCEL_IDS),
});

const instant = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));
export const FailedEventFilter = z.object({
  status: z.enum(FAILURE_STATES).optional(),
  name: z.string().max(100).optional(),
  tenant: z.string().max(200).optional(),
  from: instant.optional(),
  to: instant.optional(),
});
export const FailedEventQuery = FailedEventFilter.extend({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional(),
});
export const BulkReplayRequest = FailedEventFilter.extend({
  dryRun: z.boolean().default(false),
  limit: z.number().int().min(1).max(500).default(100),
});

export const ErrorBody = z.object({ error: z.string() });

export const DispatchResponse = z.object({
  ids: z.array(z.string()).describe("Every accepted id: the worker owns these events from now on"),
  instances: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      status: z
        .enum(PRODUCER_STATUSES)
        .describe("queued or scheduled when new; a re-send says where its event is (complete, dead, ...)"),
    }),
  ),
  errors: z
    .array(z.object({ id: z.string(), error: z.string() }))
    .optional()
    .describe("Items refused for themselves (invalid, unknown event, conflicting id); omitted when empty"),
});
export type DispatchResponse = z.infer<typeof DispatchResponse>;

export const StatusResponse = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(PRODUCER_STATUSES),
  traceId: z.string(),
  idempotencyKey: z.string().optional(),
  scheduledAt: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  output: z.unknown().optional(),
  error: z.object({ name: z.string(), message: z.string() }).optional(),
  recovery: z
    .object({
      status: z.string(),
      failedStep: z.string().nullable(),
      lastError: z.string(),
      attempts: z.number().int(),
    })
    .optional()
    .describe("Present once the event left its workflow unfinished"),
  waiting: z
    .discriminatedUnion("reason", [
      z.object({ reason: z.literal("queued"), priority: z.enum(PRIORITIES), detail: z.string() }),
      z.object({
        reason: z.literal("throttled"),
        priority: z.enum(PRIORITIES),
        limit: z.string(),
        detail: z.string(),
      }),
    ])
    .optional()
    .describe(
      "Present while the event waits: for its instance to be created (queued: interactive work goes first, tenants take turns within a class), or for its turn at a backend limit (throttled, with the limit)",
    ),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

export const CancelResult = z.object({
  id: z.string(),
  status: z.literal("cancelled"),
  note: z.string(),
  performedSteps: z.array(z.string()).optional(),
});
export const BulkCancelResponse = z.object({
  results: z.array(
    z.union([
      CancelResult,
      z.object({ id: z.string(), status: z.union([z.literal(404), z.literal(409)]), error: z.string() }),
    ]),
  ),
});

export const FailedEventSummary = z.object({
  id: z.string(),
  name: z.string(),
  tenantId: z.string().nullable(),
  traceId: z.string(),
  status: z.string(),
  failedStep: z.string().nullable(),
  remainingSteps: z.array(z.string()),
  lastError: z.string(),
  attempts: z.number().int(),
  replays: z.number().int(),
  replayable: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const FailedEventList = z.object({
  info: z.string(),
  queues: z.object({ retry: z.string(), deadLetter: z.string() }),
  retryQueue: z.string(),
  deadLetterQueue: z.string(),
  events: z.array(FailedEventSummary),
  nextCursor: z.string().optional(),
});

export const FailedEventDetail = FailedEventSummary.extend({
  event: z.record(z.string(), z.unknown()).nullable().describe("The event as dispatched, secrets masked"),
  history: z.array(
    z.object({
      at: z.string(),
      tier: z.string(),
      step: z.string().nullable(),
      outcome: z.string(),
      detail: z.string().nullable(),
    }),
  ),
});

export const BulkReplayResponse = z.object({
  dryRun: z.boolean(),
  matched: z.number().int(),
  replayed: z.number().int().optional(),
  ids: z.array(z.string()),
});

export const StateChange = z.object({ id: z.string(), status: z.enum(FAILURE_STATES) });
