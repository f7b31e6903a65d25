import { Hono } from "hono";
import * as z from "zod";
import type { Env } from "../env.ts";
import { CATALOG, isEventName, stepsOf } from "../events/catalog.ts";
import { log } from "../log.ts";
import { loadEvent, type StoredEvent, transition } from "../store/events.ts";
import { WORKFLOWS } from "../topology.ts";
import type { AppContext } from "./auth.ts";
import { HttpError } from "./errors.ts";

/** At most this many ids per bulk cancel. */
export const MAX_CANCEL_IDS = 1000;
const BulkCancel = z.object({ ids: z.array(z.string().min(1).max(200)).min(1).max(MAX_CANCEL_IDS) });

const PERFORMED_NOTE = "Steps already performed stay performed; no further step will run";

export type CancelOutcome =
  | { kind: "cancelled"; id: string; performedSteps?: string[] }
  | { kind: "unknown"; id: string }
  | { kind: "refused"; id: string; state: StoredEvent["state"] };

/**
 * Cancels one event wherever it is: not created yet, sleeping, between steps, or retrying in the
 * recovery tier. The state changes first, so the reconciler, the recovery consumer and the
 * workflow's own check before each later step all see it; then a running instance is stopped.
 */
export async function cancelEvent(env: Env, id: string): Promise<CancelOutcome> {
  const event = await loadEvent(env.DB, id);
  if (!event || !isEventName(event.name)) return { kind: "unknown", id };
  const performed =
    event.failedAt === null
      ? undefined
      : stepsOf(event.name).filter((s) => !event.remainingSteps.includes(s));
  if (event.state !== "cancelled") {
    const cancelled = await transition(
      env.DB,
      id,
      "cancel",
      "producer",
      { dueAt: null },
      {
        tier: "producer",
        step: null,
        outcome: "cancelled",
        detail: null,
      },
    );
    if (!cancelled)
      return { kind: "refused", id, state: (await loadEvent(env.DB, id))?.state ?? event.state };
  }
  try {
    const instance = await env[WORKFLOWS[CATALOG[event.name].workflow].binding].get(id);
    const { status } = await instance.status();
    if (!["complete", "errored", "terminated"].includes(status)) await instance.terminate();
  } catch (error) {
    // No instance (not created yet), or it has ended: the state alone keeps it from running.
    log.info("cancel.no-instance", {
      eventId: id,
      error: error instanceof Error ? error.message : "unknown",
    });
  }
  return { kind: "cancelled", id, ...(performed ? { performedSteps: performed } : {}) };
}

function answer(outcome: CancelOutcome) {
  switch (outcome.kind) {
    case "cancelled":
      return {
        id: outcome.id,
        status: "cancelled",
        note: PERFORMED_NOTE,
        ...(outcome.performedSteps ? { performedSteps: outcome.performedSteps } : {}),
      };
    case "unknown":
      return { id: outcome.id, status: 404, error: "Unknown event id" };
    case "refused":
      return {
        id: outcome.id,
        status: 409,
        error:
          outcome.state === "delivered"
            ? "Already delivered"
            : `Not cancellable: the event is ${outcome.state}`,
      };
  }
}

/** Producers cancel what they scheduled: one event, or up to 1,000 at once. */
export const cancel = new Hono<AppContext>();

cancel.post("/cancel", async (c) => {
  const body = BulkCancel.safeParse(await c.req.json().catch(() => undefined));
  if (!body.success)
    throw new HttpError(400, `Body must be {"ids": [...]} with 1 to ${MAX_CANCEL_IDS} event ids`);
  const results = [];
  for (const id of new Set(body.data.ids)) results.push(answer(await cancelEvent(c.env, id)));
  return c.json({ results });
});

cancel.post("/:id/cancel", async (c) => {
  const outcome = await cancelEvent(c.env, c.req.param("id"));
  if (outcome.kind === "unknown") throw new HttpError(404, "Unknown event id");
  if (outcome.kind === "refused") {
    const { error } = answer(outcome) as { error: string };
    throw new HttpError(409, error);
  }
  return c.json(answer(outcome));
});
