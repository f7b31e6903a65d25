import type { Context } from "hono";
import { StoreUnavailableError } from "../dispatch/dispatch.ts";
import { HttpError } from "../edge/errors.ts";
import { log } from "../log.ts";
import { InvalidRequestError } from "../operations/errors.ts";
import { ConfigError } from "../settings/config-error.ts";
import { SchemaNotReadyError } from "../store/schema.ts";

/** D1 reports its own failures with this prefix; they are the platform's, not the request's. */
const isStoreError = (error: unknown) => error instanceof Error && /^D1_/.test(error.message);

/** The one place an API error becomes an answer: JSON, a status, and never a secret or a stack. */
export function httpError(error: Error, c: Context) {
  if (error instanceof InvalidRequestError) return c.json({ error: error.message }, 400);
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
}
