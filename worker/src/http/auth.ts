import { createMiddleware } from "hono/factory";
import { hex } from "../dispatch/digest.ts";
import type { Env } from "../env.ts";
import { RATE_LIMITS } from "../topology.ts";
import { HttpError } from "./errors.ts";

export type AppContext = { Bindings: Env; Variables: { caller: string } };

const sha256 = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/**
 * Bearer authentication, failing closed when no token is configured. Digests are compared,
 * not the tokens, so the comparison is constant-time whatever the lengths.
 */
export const requireBearer = createMiddleware<AppContext>(async (c, next) => {
  const expected = c.env.AUTH_TOKEN;
  if (!expected) throw new HttpError(500, "Server misconfigured: no dispatch token is set");
  const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (presented === undefined) throw new HttpError(401, "Unauthorized");
  const [given, wanted] = await Promise.all([sha256(presented), sha256(expected)]);
  if (!crypto.subtle.timingSafeEqual(given, wanted)) throw new HttpError(401, "Unauthorized");
  // The caller's identity for rate limiting: a fingerprint, never the token itself.
  c.set("caller", hex(given).slice(0, 16));
  await next();
});

/** Per-caller rate limit, checked after authentication so strangers cannot spend a caller's budget. */
export const rateLimit = createMiddleware<AppContext>(async (c, next) => {
  const { success } = await c.env[RATE_LIMITS.dispatch.binding].limit({ key: c.get("caller") });
  if (!success) {
    throw new HttpError(429, "Rate limit exceeded; retry later", {
      "Retry-After": String(RATE_LIMITS.dispatch.period),
    });
  }
  await next();
});
