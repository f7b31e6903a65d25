import { Hono } from "hono";
import type { AppContext } from "../edge/auth.ts";
import { HttpError } from "../edge/errors.ts";
import { type CancelOutcome, cancelEvents } from "../operations/cancel.ts";
import { BulkCancelRequest, MAX_CANCEL_IDS } from "../operations/shapes.ts";

const PERFORMED_NOTE = "Steps already performed stay performed; no further step will run";

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
  const body = BulkCancelRequest.safeParse(await c.req.json().catch(() => undefined));
  if (!body.success)
    throw new HttpError(400, `Body must be {"ids": [...]} with 1 to ${MAX_CANCEL_IDS} event ids`);
  const outcomes = await cancelEvents(c.env, [...new Set(body.data.ids)]);
  return c.json({ results: outcomes.map(answer) });
});

cancel.post("/:id/cancel", async (c) => {
  const [outcome] = await cancelEvents(c.env, [c.req.param("id")]);
  if (!outcome) throw new HttpError(404, "Unknown event id");
  if (outcome.kind === "unknown") throw new HttpError(404, "Unknown event id");
  if (outcome.kind === "refused") {
    const { error } = answer(outcome) as { error: string };
    throw new HttpError(409, error);
  }
  return c.json(answer(outcome));
});
