import { Hono } from "hono";
import * as z from "zod";
import { dispatch } from "../dispatch/dispatch.ts";
import { type AppContext, rateLimit, requireOperator, requireProducer } from "../edge/auth.ts";
import { HttpError } from "../edge/errors.ts";
import type { DispatchResponse } from "../operations/shapes.ts";
import { eventStatus } from "../operations/status.ts";
import { numberVar } from "../settings/vars.ts";
import { requireSchema } from "../store/schema.ts";
import { LIMITS } from "../topology.ts";
import { readJson } from "./body.ts";
import { cancel } from "./cancel.ts";
import { httpError } from "./error-handler.ts";
import { failedEvents } from "./failed-events.ts";
import { openApiDocument } from "./openapi.ts";

const DispatchBody = z.object({ events: z.array(z.unknown()) });

/** The producer and operator API; errors answer through `httpError`. */
export const api = new Hono<AppContext>();

/**
 * Healthy means able to work: the database answers and has every migration this release needs.
 * A deploy's smoke test reads this; an unhealthy answer says why (never a secret).
 */
api.get("/health", async (c) => {
  await requireSchema(c.env.DB);
  return c.json({ status: "ok" });
});

/** The API's OpenAPI 3.1 document, public like /health: it holds no secret, only shapes. */
let document: string | undefined;
api.get("/openapi.json", (c) => {
  document ??= JSON.stringify(openApiDocument());
  return c.body(document, 200, {
    "content-type": "application/json",
    "cache-control": "public, max-age=300",
  });
});

api.post("/dispatch", requireProducer, rateLimit, async (c) => {
  const body = DispatchBody.safeParse(await readJson(c.req.raw, LIMITS.bodyBytes));
  if (!body.success) throw new HttpError(400, "Body must be a JSON object with an `events` array");
  const max = numberVar(c.env, "maxEventsPerRequest");
  if (body.data.events.length > max) {
    throw new HttpError(413, `Too many events: ${body.data.events.length} (at most ${max} per request)`);
  }
  const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const result: DispatchResponse = await dispatch(c.env, body.data.events, Date.now(), background);
  return c.json(result);
});

api.get("/status/:id", requireProducer, async (c) => {
  const answer = await eventStatus(c.env, c.req.param("id"));
  if (!answer) throw new HttpError(404, "Unknown event id");
  return c.json(answer);
});

api.use("/events/*", requireProducer, rateLimit);
api.route("/events", cancel);

api.use("/failed-events", requireOperator);
api.use("/failed-events/*", requireOperator);
api.route("/failed-events", failedEvents);

api.onError(httpError);
