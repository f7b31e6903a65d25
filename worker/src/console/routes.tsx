import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { matchesRole } from "../edge/auth.ts";
import { INSTANCE_ID } from "../events/job.ts";
import { forOperators, historyForOperators, maskStrings, secretsOf } from "../events/masking.ts";
import { log } from "../log.ts";
import { InvalidRequestError } from "../operations/errors.ts";
import { failedPage, isReplayable } from "../operations/failed.ts";
import { replayEvents } from "../operations/replay.ts";
import { eventStatus } from "../operations/status.ts";
import { historyOf, loadEvent } from "../store/events.ts";
import { listFailed } from "../store/failures.ts";
import { RATE_LIMITS } from "../topology.ts";
import { ACTIONS, isActionName, offered, take } from "./actions.ts";
import { ConsoleFilter, filterQuery } from "./filters.ts";
import {
  type ConsoleContext,
  ConsoleRefusal,
  checkCsrf,
  cookieSettings,
  requireSession,
  sameOrigin,
} from "./guard.ts";
import { Page } from "./layout.tsx";
import { overview } from "./overview-data.ts";
import { ConfirmPage } from "./pages/confirm.tsx";
import { EventPage } from "./pages/event.tsx";
import { FailedPage } from "./pages/failed.tsx";
import { LookupPage } from "./pages/lookup.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { ReplayDonePage, ReplayFormPage, ReplayPreviewPage } from "./pages/replay.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { openSession, SESSION_MS } from "./session.ts";

/** Events a bulk replay takes at most at once (the operator API's ceiling too). */
const BULK_LIMIT = 500;
const PAGE_SIZE = 50;
/** A sign-in form holds one token: anything bigger is not one. */
const SIGN_IN_BYTES = 4096;

/** The operator console: server-rendered pages, no script, one stylesheet inline. */
export const consoleApp = new Hono<ConsoleContext>();

consoleApp.use("*", async (c, next) => {
  await next();
  // Nothing runs, loads or frames here but the page itself.
  c.header(
    "content-security-policy",
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.header("x-content-type-options", "nosniff");
  // Same-origin, not no-referrer: with no-referrer browsers send `Origin: null`, which the
  // cross-site check must refuse.
  c.header("referrer-policy", "same-origin");
  c.header("cache-control", "no-store");
});
consoleApp.use("*", sameOrigin);

consoleApp.get("/sign-in", (c) => c.html(<SignInPage />));

consoleApp.post("/sign-in", async (c) => {
  // Guessing is slowed like any caller: a share of the dispatch budget per client address.
  const client = c.req.header("cf-connecting-ip") ?? "local";
  const { success } = await c.env[RATE_LIMITS.dispatch.binding].limit({ key: `console-sign-in:${client}` });
  if (!success) throw new ConsoleRefusal(429, "Too many sign-in attempts; wait a minute and try again.");
  // Unauthenticated: read a small body only.
  if (Number(c.req.header("content-length") ?? Number.POSITIVE_INFINITY) > SIGN_IN_BYTES)
    throw new ConsoleRefusal(409, "The sign-in form is too large.");
  const form = await c.req.parseBody();
  const token = typeof form.token === "string" ? form.token.trim() : "";
  const valid = token === "" ? false : await matchesRole(c.env, "operator", token);
  if (valid && (await matchesRole(c.env, "producer", token))) {
    return c.html(
      <SignInPage error="Operator access is misconfigured: the operator token equals a producer token." />,
      503,
    );
  }
  if (valid === undefined) {
    return c.html(<SignInPage error="Operator access is not configured: set OPERATOR_TOKEN." />, 503);
  }
  if (!valid) return c.html(<SignInPage error="That is not an operator token." />, 401);
  const { name, options } = cookieSettings(c);
  setCookie(c, name, await openSession(c.env, Date.now()), { ...options, maxAge: SESSION_MS / 1000 });
  log.info("console.sign-in", {});
  return c.redirect("/console", 303);
});

consoleApp.use("*", requireSession);

consoleApp.post("/sign-out", async (c) => {
  await checkCsrf(c);
  const { name, options } = cookieSettings(c);
  deleteCookie(c, name, options);
  return c.redirect("/console/sign-in", 303);
});

consoleApp.get("/", async (c) =>
  c.html(<OverviewPage data={await overview(c.env, Date.now())} csrf={c.get("session").csrf} />),
);

consoleApp.get("/failed", async (c) => {
  const values = c.req.query();
  const filter = parseFilter(values);
  const cursor = values.cursor || undefined;
  const page = await failedPage(c.env.DB, { ...filter, limit: PAGE_SIZE, cursor });
  const { nextCursor } = page;
  const events = page.events.map(forOperators);
  const next = nextCursor
    ? `/console/failed?${filterQuery(values)}&cursor=${encodeURIComponent(nextCursor)}`
    : undefined;
  return c.html(<FailedPage csrf={c.get("session").csrf} events={events} values={values} next={next} />);
});

consoleApp.get("/events/:id", async (c) => {
  const event = await eventOr404(c.env, c.req.param("id"));
  const action = c.req.query("done");
  const done = action && isActionName(action) ? `${ACTIONS[action].label}: done.` : undefined;
  const moved =
    c.req.query("moved") === "1" ? "Nothing changed: the event had moved on meanwhile." : undefined;
  const history = historyForOperators(await historyOf(c.env.DB, event.id), event.job);
  return c.html(
    <EventPage
      csrf={c.get("session").csrf}
      event={forOperators(event)}
      history={history}
      done={done ?? moved}
    />,
  );
});

consoleApp.get("/events/:id/:action", async (c) => {
  const { event, action } = await actionOn(c.env, c.req.param("id"), c.req.param("action"));
  return c.html(<ConfirmPage csrf={c.get("session").csrf} event={event} action={action} />);
});

consoleApp.post("/events/:id/:action", async (c) => {
  await checkCsrf(c);
  const back = `/console/events/${encodeURIComponent(c.req.param("id"))}`;
  const { event, action } = await actionOn(c.env, c.req.param("id"), c.req.param("action")).catch((error) => {
    // Submitted twice, or the event moved on since the confirmation: say so on the event's page.
    if (error instanceof ConsoleRefusal && error.status === 409)
      return { event: undefined, action: undefined };
    throw error;
  });
  if (!event || !action) return c.redirect(`${back}?moved=1`, 303);
  const applied = await take(c.env, event, action);
  log.info("console.action", { eventId: event.id, action, applied });
  return c.redirect(applied ? `${back}?done=${action}` : `${back}?moved=1`, 303);
});

consoleApp.get("/replay", (c) =>
  c.html(<ReplayFormPage csrf={c.get("session").csrf} values={c.req.query()} />),
);

consoleApp.post("/replay/preview", async (c) => {
  const form = await checkCsrf(c);
  const values = Object.fromEntries(
    Object.entries(form).map(([k, v]) => [k, typeof v === "string" ? v : undefined]),
  );
  const filter = parseFilter(values);
  const events = (await listFailed(c.env.DB, { ...filter, status: "dead" }, BULK_LIMIT)).filter(isReplayable);
  return c.html(<ReplayPreviewPage csrf={c.get("session").csrf} events={events} limit={BULK_LIMIT} />);
});

consoleApp.post("/replay/run", async (c) => {
  const form = await checkCsrf(c);
  const ids = [form.id ?? []]
    .flat()
    .filter((id): id is string => typeof id === "string" && INSTANCE_ID.test(id));
  if (ids.length === 0 || ids.length > BULK_LIMIT)
    throw new ConsoleRefusal(409, "Nothing to replay: preview again.");
  const replayed = await replayEvents(c.env, ids);
  log.info("console.bulk-replay", { asked: ids.length, replayed: replayed.length });
  return c.html(<ReplayDonePage csrf={c.get("session").csrf} asked={ids.length} replayed={replayed} />);
});

consoleApp.get("/lookup", async (c) => {
  const id = (c.req.query("id") ?? "").trim();
  const found = id ? await eventStatus(c.env, id) : undefined;
  // What its producer sees, with the event's secret values masked for the operator.
  const secrets = found ? secretsOf((await loadEvent(c.env.DB, id))?.job) : [];
  // Only the free texts (errors, the steps' answers): ids, words and times stay as they are.
  const status = found && {
    ...found,
    ...(found.error ? { error: maskStrings(found.error, secrets) } : {}),
    ...(found.recovery ? { recovery: maskStrings(found.recovery, secrets) } : {}),
    ...(found.output === undefined ? {} : { output: maskStrings(found.output, secrets) }),
  };
  return c.html(
    <LookupPage csrf={c.get("session").csrf} id={id} status={status} />,
    id && !status ? 404 : 200,
  );
});

consoleApp.onError((error, c) => {
  const refusal =
    error instanceof ConsoleRefusal
      ? error
      : error instanceof InvalidRequestError
        ? new ConsoleRefusal(409, error.message)
        : undefined;
  if (refusal) return c.html(<ErrorPage message={refusal.message} />, refusal.status);
  log.error("console.error", { path: c.req.path, error: error.name });
  return c.html(
    <ErrorPage message="Something failed on our side (storage may be unavailable); try again." />,
    503,
  );
});

function ErrorPage({ message }: { message: string }) {
  return (
    <Page title="Not done" notice={{ text: message, error: true }}>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Page>
  );
}

function parseFilter(values: Record<string, string | undefined>) {
  const parsed = ConsoleFilter.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConsoleRefusal(
      409,
      `Invalid filter ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

async function eventOr404(env: ConsoleContext["Bindings"], id: string) {
  const event = INSTANCE_ID.test(id) ? await loadEvent(env.DB, id) : undefined;
  if (!event) throw new ConsoleRefusal(404, "No event with this id.");
  return event;
}

async function actionOn(env: ConsoleContext["Bindings"], id: string, name: string) {
  if (!isActionName(name)) throw new ConsoleRefusal(404, "No such action.");
  const event = await eventOr404(env, id);
  if (!offered(event, name))
    throw new ConsoleRefusal(409, `${ACTIONS[name].label} is not possible: the event is ${event.state}.`);
  return { event, action: name };
}
