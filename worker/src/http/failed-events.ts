import { Hono } from "hono";
import * as z from "zod";
import type { Env } from "../env.ts";
import {
  attemptsOf,
  discard,
  FAILED_STATUSES,
  type FailedEvent,
  type Filter,
  listFailed,
  loadFailed,
  markForReplay,
} from "../store/failed-events.ts";
import { VARS } from "../topology.ts";
import type { AppContext } from "./auth.ts";
import { HttpError } from "./errors.ts";

const instant = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));
const FilterSchema = z.object({
  status: z.enum(FAILED_STATUSES).optional(),
  name: z.string().max(100).optional(),
  tenant: z.string().max(200).optional(),
  from: instant.optional(),
  to: instant.optional(),
});
const ListQuery = FilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(400).optional(),
});
const BulkReplay = FilterSchema.extend({
  dryRun: z.boolean().default(false),
  limit: z.number().int().min(1).max(500).default(100),
});

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HttpError(400, `Invalid ${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}

/** Cursors are opaque to callers: the (createdAt, id) of the last row, base64url-encoded. */
const encodeCursor = (event: FailedEvent) =>
  btoa(JSON.stringify([event.createdAt, event.id]))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
function decodeCursor(cursor: string): [number, string] {
  try {
    const [at, id] = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    if (typeof at === "number" && typeof id === "string") return [at, id];
  } catch {}
  throw new HttpError(400, "Invalid cursor");
}

function summary(event: FailedEvent) {
  return {
    id: event.id,
    name: event.name,
    tenantId: event.tenantId,
    traceId: event.traceId,
    status: event.status,
    failedStep: event.remainingSteps[0] ?? null,
    remainingSteps: event.remainingSteps,
    lastError: event.lastError,
    attempts: event.attempts,
    replays: event.replays,
    replayable: event.job !== undefined && event.status === "dead",
    createdAt: new Date(event.createdAt).toISOString(),
    updatedAt: new Date(event.updatedAt).toISOString(),
  };
}

async function enqueue(env: Env, ids: readonly string[]) {
  for (let i = 0; i < ids.length; i += 100) {
    await env.RECOVERY_QUEUE.sendBatch(
      ids.slice(i, i + 100).map((eventId) => ({ body: { eventId }, delaySeconds: 0 })),
    );
  }
}

/** The operator API: see what failed, why, and put it back in line or discard it. */
export const failedEvents = new Hono<AppContext>();

failedEvents.get("/", async (c) => {
  const query = parse(ListQuery, c.req.query());
  const events = await listFailed(
    c.env.DB,
    query,
    query.limit + 1,
    query.cursor === undefined ? undefined : decodeCursor(query.cursor),
  );
  const page = events.slice(0, query.limit);
  const last = page.at(-1);
  return c.json({
    retryQueue: c.env.RECOVERY_QUEUE_NAME ?? VARS.RECOVERY_QUEUE_NAME,
    deadLetterQueue: c.env.DEAD_LETTER_QUEUE_NAME ?? VARS.DEAD_LETTER_QUEUE_NAME,
    events: page.map(summary),
    ...(events.length > query.limit && last ? { nextCursor: encodeCursor(last) } : {}),
  });
});

failedEvents.post("/replay", async (c) => {
  const body = parse(BulkReplay, await c.req.json().catch(() => undefined));
  const filter: Filter = { ...body, status: body.status ?? "dead" };
  const matched = (await listFailed(c.env.DB, filter, body.limit)).filter((e) => summary(e).replayable);
  const ids = matched.map((e) => e.id);
  if (body.dryRun) return c.json({ dryRun: true, matched: ids.length, ids });
  const replayed = await markForReplay(c.env.DB, ids, Date.now());
  await enqueue(c.env, replayed);
  return c.json({ dryRun: false, matched: ids.length, replayed: replayed.length, ids: replayed }, 202);
});

failedEvents.get("/:id", async (c) => {
  const event = await loadFailed(c.env.DB, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  return c.json({
    ...summary(event),
    event: event.job ?? null,
    history: (await attemptsOf(c.env.DB, event.id)).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
  });
});

failedEvents.post("/:id/replay", async (c) => {
  const event = await loadFailed(c.env.DB, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  const [replayed] = await markForReplay(c.env.DB, [event.id], Date.now());
  if (!replayed)
    throw new HttpError(
      409,
      `Not replayable: the event is ${event.job ? event.status : "not a stored event"}`,
    );
  await enqueue(c.env, [replayed]);
  return c.json({ id: replayed, status: "retrying" }, 202);
});

failedEvents.delete("/:id", async (c) => {
  const event = await loadFailed(c.env.DB, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  if (!(await discard(c.env.DB, event.id, Date.now()))) throw new HttpError(409, "Already delivered");
  return c.json({ id: event.id, status: "discarded" });
});
