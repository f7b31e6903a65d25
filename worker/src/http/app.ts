import { Hono } from "hono";
import * as z from "zod";
import { dispatch } from "../dispatch/dispatch.ts";
import { isEventName } from "../events/catalog.ts";
import { INSTANCE_ID } from "../events/job.ts";
import { log } from "../log.ts";
import { loadFailed } from "../store/failed-events.ts";
import { receiptName } from "../store/receipts.ts";
import { LIMITS, VARS } from "../topology.ts";
import { instanceStatus } from "../workflows/status.ts";
import { type AppContext, rateLimit, requireBearer } from "./auth.ts";
import { readJson } from "./body.ts";
import { HttpError } from "./errors.ts";
import { failedEvents } from "./failed-events.ts";

const DispatchBody = z.object({ events: z.array(z.unknown()) });

export const app = new Hono<AppContext>();

app.get("/health", (c) => c.json({ status: "ok" }));

app.post("/dispatch", requireBearer, rateLimit, async (c) => {
  const body = DispatchBody.safeParse(await readJson(c.req.raw, LIMITS.bodyBytes));
  if (!body.success) throw new HttpError(400, "Body must be a JSON object with an `events` array");
  const max = Number(c.env.MAX_EVENTS_PER_REQUEST ?? VARS.MAX_EVENTS_PER_REQUEST);
  if (body.data.events.length > max) {
    throw new HttpError(413, `Too many events: ${body.data.events.length} (at most ${max} per request)`);
  }
  return c.json(await dispatch(c.env, body.data.events, Date.now()));
});

app.get("/status/:id", requireBearer, async (c) => {
  const id = c.req.param("id");
  if (!INSTANCE_ID.test(id)) throw new HttpError(404, "Unknown event id");
  const name = c.req.query("name") ?? (await receiptName(c.env.DB, id));
  if (name === undefined || !isEventName(name)) throw new HttpError(404, "Unknown event id");
  const [status, failure] = await Promise.all([instanceStatus(c.env, id, name), loadFailed(c.env.DB, id)]);
  if (status === undefined) throw new HttpError(404, "Unknown event id");
  // An instance that handed its event to the recovery tier is `complete`; say what became of it.
  const recovery = failure && {
    status: failure.status,
    failedStep: failure.remainingSteps[0] ?? null,
    lastError: failure.lastError,
    attempts: failure.attempts,
  };
  return c.json(recovery ? { ...status, recovery } : status);
});

app.use("/failed-events", requireBearer);
app.use("/failed-events/*", requireBearer);
app.route("/failed-events", failedEvents);

app.notFound(() => {
  throw new HttpError(404, "Not found");
});

app.onError((error, c) => {
  if (error instanceof HttpError) {
    return c.json({ error: error.message }, error.status, error.headers);
  }
  log.error("http.unhandled", { path: c.req.path, error: error.name });
  return c.json({ error: "Internal error" }, 500);
});
