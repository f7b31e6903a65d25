import { Hono } from "hono";
import type * as z from "zod";
import type { AppContext } from "../edge/auth.ts";
import { HttpError } from "../edge/errors.ts";
import { forOperators, historyForOperators, maskJob } from "../events/masking.ts";
import { discardEvent } from "../operations/discard.ts";
import { failedPage, isReplayable, loadFailed, replayable } from "../operations/failed.ts";
import { replayEvents } from "../operations/replay.ts";
import { BulkReplayRequest, FailedEventQuery } from "../operations/shapes.ts";
import { historyOf, type StoredEvent } from "../store/events.ts";
import { VARS } from "../topology.ts";

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HttpError(400, `Invalid ${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}

export function summary(event: StoredEvent) {
  return {
    id: event.id,
    name: event.name,
    tenantId: event.tenantId,
    traceId: event.traceId,
    status: event.state,
    failedStep: event.remainingSteps[0] ?? null,
    remainingSteps: event.remainingSteps,
    lastError: event.lastError,
    attempts: event.attempts,
    replays: event.replays,
    replayable: isReplayable(event),
    createdAt: new Date(event.failedAt ?? event.createdAt).toISOString(),
    updatedAt: new Date(event.updatedAt).toISOString(),
  };
}

const LIST_INFO =
  "Events that failed their workflow: retrying in the recovery queue, dead, or discarded. " +
  "Replay one with POST /failed-events/:id/replay, or many with POST /failed-events/replay.";

/** The operator API: see what failed, why, and put it back in line or discard it. */
export const failedEvents = new Hono<AppContext>();

failedEvents.get("/", async (c) => {
  const { events, nextCursor } = await failedPage(c.env.DB, parse(FailedEventQuery, c.req.query()));
  const retry = c.env.RECOVERY_QUEUE_NAME ?? VARS.RECOVERY_QUEUE_NAME;
  const deadLetter = c.env.DEAD_LETTER_QUEUE_NAME ?? VARS.DEAD_LETTER_QUEUE_NAME;
  return c.json({
    // The original answer's fields, kept for callers written against it.
    info: LIST_INFO,
    queues: { retry, deadLetter },
    retryQueue: retry,
    deadLetterQueue: deadLetter,
    events: events.map((e) => summary(forOperators(e))),
    ...(nextCursor ? { nextCursor } : {}),
  });
});

failedEvents.post("/replay", async (c) => {
  const body = parse(BulkReplayRequest, await c.req.json().catch(() => undefined));
  const ids = await replayable(c.env.DB, body, body.limit);
  if (body.dryRun) return c.json({ dryRun: true, matched: ids.length, ids });
  const replayed = await replayEvents(c.env, ids);
  return c.json({ dryRun: false, matched: ids.length, replayed: replayed.length, ids: replayed }, 202);
});

failedEvents.get("/:id", async (c) => {
  const event = await loadFailed(c.env, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  return c.json({
    // Secrets are masked (the payload, and their values in error texts); the stored event keeps
    // them for a replay.
    ...summary(forOperators(event)),
    event: event.job ? maskJob(event.job) : null,
    history: historyForOperators(await historyOf(c.env.DB, event.id), event.job).map((a) => ({
      ...a,
      at: new Date(a.at).toISOString(),
    })),
  });
});

failedEvents.post("/:id/replay", async (c) => {
  const event = await loadFailed(c.env, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  if (!event.job) throw new HttpError(409, "Not replayable: the event is not a stored event");
  const [replayed] = await replayEvents(c.env, [event.id]);
  if (!replayed) throw new HttpError(409, `Not replayable: the event is ${event.state}`);
  return c.json({ id: replayed, status: "retrying" }, 202);
});

failedEvents.delete("/:id", async (c) => {
  const event = await loadFailed(c.env, c.req.param("id"));
  if (!event) throw new HttpError(404, "Unknown failed event");
  if (event.state === "discarded") return c.json({ id: event.id, status: "discarded" });
  if (!(await discardEvent(c.env, event.id)))
    throw new HttpError(409, `Not discardable: the event is ${event.state}`);
  return c.json({ id: event.id, status: "discarded" });
});
