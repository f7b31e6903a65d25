import { createMiddleware } from "hono/factory";
import { hex } from "../dispatch/digest.ts";
import type { Env } from "../env.ts";
import { LIMITS, RATE_LIMITS, type RateLimitName, VARS } from "../topology.ts";
import { HttpError } from "./errors.ts";

export type AppContext = { Bindings: Env; Variables: { caller: string } };

const sha256 = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/**
 * Bearer authentication against the current and the next token (a rotation overlap), failing
 * closed when none is configured. Digests are compared, not the tokens, so every comparison is
 * constant-time whatever the lengths, and every configured token is compared.
 */
export const requireBearer = createMiddleware<AppContext>(async (c, next) => {
  const accepted = [c.env.AUTH_TOKEN, c.env.AUTH_TOKEN_NEXT].filter((t): t is string => Boolean(t));
  if (accepted.length === 0) throw new HttpError(500, "Server misconfigured: no dispatch token is set");
  const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (presented === undefined) throw new HttpError(401, "Unauthorized");
  const [given, ...wanted] = await Promise.all([presented, ...accepted].map(sha256));
  let valid = false;
  for (const digest of wanted) valid = crypto.subtle.timingSafeEqual(given as ArrayBuffer, digest) || valid;
  if (!valid) throw new HttpError(401, "Unauthorized");
  // The caller's identity for rate limiting: a fingerprint, never the token itself.
  c.set("caller", hex(given as ArrayBuffer).slice(0, 16));
  await next();
});

/** A tenant named by the request, usable as a key; anything else is ignored, never echoed. */
const TENANT = new RegExp(`^[A-Za-z0-9_.:-]{1,${LIMITS.tenantIdLength}}$`);

/**
 * Rate limits, checked after authentication so strangers cannot spend a caller's budget. A
 * request that names its tenant (`X-Tenant-Id`) is first held to that tenant's smaller share,
 * then, like every request, to the caller's budget.
 */
export const rateLimit = createMiddleware<AppContext>(async (c, next) => {
  const caller = c.get("caller");
  const tenant = c.req.header("x-tenant-id")?.trim() ?? "";
  const checks: [(typeof RATE_LIMITS)[RateLimitName]["binding"], string][] = [
    [RATE_LIMITS.dispatch.binding, caller],
  ];
  if (TENANT.test(tenant)) checks.unshift([RATE_LIMITS.tenant.binding, `${caller}:${tenant}`]);
  for (const [binding, key] of checks) {
    const { success } = await c.env[binding].limit({ key });
    if (!success) {
      throw new HttpError(429, "Rate limit exceeded; retry later", {
        "Retry-After": c.env.RATE_LIMIT_PERIOD ?? VARS.RATE_LIMIT_PERIOD,
      });
    }
  }
  await next();
});
