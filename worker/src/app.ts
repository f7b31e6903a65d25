import { Hono } from "hono";
import { consoleApp } from "./console/routes.tsx";
import type { AppContext } from "./edge/auth.ts";
import { HttpError } from "./edge/errors.ts";
import { httpError } from "./http/error-handler.ts";
import { api } from "./http/routes.ts";

/** Everything the worker answers over HTTP: the API, and the console with its own sessions and pages. */
export const app = new Hono<AppContext>();

app.route("/", api);
// The operator console: its own session (cookie) auth, CSRF checks and HTML error pages.
app.route("/console", consoleApp);

app.notFound(() => {
  throw new HttpError(404, "Not found");
});
app.onError(httpError);
