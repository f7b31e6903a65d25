import { Hono } from "hono";
import * as z from "zod";
import { consoleApp } from "../console/routes.tsx";
import { dispatch, StoreUnavailableError } from "../dispatch/dispatch.ts";
import { log } from "../log.ts";
import { ConfigError, numberVar } from "../settings.ts";
import { requireSchema, SchemaNotReadyError } from "../store/schema.ts";
import { LIMITS } from "../topology.ts";
import type { DispatchResponse } from "./api.ts";
import { type AppContext, rateLimit, requireOperator, requireProducer } from "./auth.ts";
import { readJson } from "./body.ts";
import { cancel } from "./cancel.ts";
import { HttpError } from "./errors.ts";
import { failedEvents } from "./failed-events.ts";
import { openApiDocument } from "./openapi.ts";
import { eventStatus } from "./status.ts";

/** D1 reports its own failures with this prefix; they are the platform's, not the request's. */
const isStoreError = (error: unknown) => error instanceof Error && /^D1_/.test(error.message);

const DispatchBody = z.object({ events: z.array(z.unknown()) });

export const app = new Hono<AppContext>();

/**
 * Healthy means able to work: the database answers and has every migration this release needs.
 * A deploy's smoke test reads this; an unhealthy answer says why (never a secret).
 */
app.get("/health", async (c) => {
  await requireSchema(c.env.DB);
  return c.json({ status: "ok" });
});

/** The API's OpenAPI 3.1 document, public like /health: it holds no secret, only shapes. */
let document: string | undefined;
app.get("/openapi.json", (c) => {
  document ??= JSON.stringify(openApiDocument());
  return c.body(document, 200, {
    "content-type": "application/json",
    "cache-control": "public, max-age=300",
  });
});

app.post("/dispatch", requireProducer, rateLimit, async (c) => {
  const body = DispatchBody.safeParse(await readJson(c.req.raw, LIMITS.bodyBytes));
  if (!body.success) throw new HttpError(400, "Body must be a JSON object with an `events` array");
  const max = numberVar(c.env, "MAX_EVENTS_PER_REQUEST");
  if (body.data.events.length > max) {
    throw new HttpError(413, `Too many events: ${body.data.events.length} (at most ${max} per request)`);
  }
  const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const result: DispatchResponse = await dispatch(c.env, body.data.events, Date.now(), background);
  return c.json(result);
});

app.get("/status/:id", requireProducer, async (c) => {
  const answer = await eventStatus(c.env, c.req.param("id"));
  if (!answer) throw new HttpError(404, "Unknown event id");
  return c.json(answer);
});

app.use("/events/*", requireProducer, rateLimit);
app.route("/events", cancel);

app.use("/failed-events", requireOperator);
app.use("/failed-events/*", requireOperator);
app.route("/failed-events", failedEvents);

// The operator console: its own session (cookie) auth, CSRF checks and HTML error pages.
app.route("/console", consoleApp);

app.notFound(() => {
  throw new HttpError(404, "Not found");
});

app.onError((error, c) => {
  if (error instanceof HttpError) {
    return c.json({ error: error.message }, error.status, error.headers);
  }
  if (error instanceof SchemaNotReadyError) {
    // Fail closed: this release was deployed ahead of its migrations. Nothing was written.
    log.error("http.schema-not-ready", { path: c.req.path, missing: error.missing.join(",") });
    return c.json({ status: "unavailable", error: `${error.message}; retry the request` }, 503, {
      "retry-after": "30",
    });
  }
  if (error instanceof StoreUnavailableError || isStoreError(error)) {
    // Nothing was half-done: the request can be sent again as it is.
    log.error("http.store-unavailable", { path: c.req.path });
    return c.json({ error: "Storage is unavailable; retry the request" }, 503, { "retry-after": "5" });
  }
  if (error instanceof ConfigError) {
    log.error("http.misconfigured", { path: c.req.path, error: error.message });
    return c.json({ error: `Worker misconfigured: ${error.message}` }, 500);
  }
  log.error("http.unhandled", { path: c.req.path, error: error.name });
  return c.json({ error: "Internal error" }, 500);
});
