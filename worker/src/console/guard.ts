import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { Env } from "../env.ts";
import { constantTimeEqual, readSession, type Session } from "./session.ts";

export type ConsoleContext = { Bindings: Env; Variables: { session: Session } };

/** A refused console request; the console renders it as a page. */
export class ConsoleRefusal extends Error {
  override readonly name = "ConsoleRefusal";
  readonly status: 403 | 404 | 409 | 429;
  constructor(status: ConsoleRefusal["status"], message: string) {
    super(message);
    this.status = status;
  }
}

const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])$/;

/** `Secure` (and the `__Host-` prefix that requires it) everywhere but a developer's own machine. */
export function cookieSettings(c: Context) {
  const url = new URL(c.req.url);
  const local = LOCAL_HOST.test(url.hostname) && url.protocol === "http:";
  return {
    name: local ? "jobs_console" : "__Host-jobs_console",
    options: { path: "/", httpOnly: true, sameSite: "Strict", secure: !local } as const,
  };
}

/** Pages need a signed, unexpired session; without one the operator is sent to sign in. */
export const requireSession = createMiddleware<ConsoleContext>(async (c, next) => {
  const session = await readSession(c.env, getCookie(c, cookieSettings(c).name), Date.now());
  if (!session) return c.redirect("/console/sign-in", 303);
  c.set("session", session);
  await next();
});

/**
 * Every state-changing request is a POST from this origin: the browser's Origin header (or, when
 * a browser omits it, Sec-Fetch-Site) must say so. Cookies are SameSite=Strict too; this is the
 * second lock, and the one that covers sign-in.
 */
export const sameOrigin = createMiddleware<ConsoleContext>(async (c, next) => {
  if (c.req.method === "POST") {
    const url = new URL(c.req.url);
    // The origin the browser addressed (its Host header), and the one the worker sees; behind a
    // local proxy the two can differ in port.
    const ours = new Set([url.origin, `${url.protocol}//${c.req.header("host") ?? url.host}`]);
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const same =
      (site === undefined || site === "same-origin") && (origin ? ours.has(origin) : site === "same-origin");
    if (!same) throw new ConsoleRefusal(403, "Refused: this form was not sent from the console itself.");
  }
  await next();
});

/** The per-session CSRF token every signed-in form carries. */
export async function checkCsrf(c: Context<ConsoleContext>): Promise<Record<string, string | string[]>> {
  const form = (await c.req.parseBody({ all: true })) as Record<string, string | string[]>;
  const given = typeof form.csrf === "string" ? form.csrf : "";
  if (!constantTimeEqual(given, c.get("session").csrf))
    throw new ConsoleRefusal(
      403,
      "Refused: the form has expired or did not come from this session. Reload the page.",
    );
  return form;
}
