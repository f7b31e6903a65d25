import { createMiddleware } from "hono/factory";
import type { Env } from "../env.ts";
import { hex } from "../events/digest.ts";
import { LIMITS, RATE_LIMITS, type RateLimitName, VARS } from "../topology.ts";
import { HttpError } from "./errors.ts";

export type AppContext = { Bindings: Env; Variables: { caller: string } };

const sha256 = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/** Who may use a route: producers dispatch, read status and cancel; operators run the rest. */
export type Role = "producer" | "operator";

const TOKENS: Record<Role, (env: Env) => (string | undefined)[]> = {
  producer: (env) => [env.AUTH_TOKEN, env.AUTH_TOKEN_NEXT],
  operator: (env) => [env.OPERATOR_TOKEN, env.OPERATOR_TOKEN_NEXT],
};

/** The bearer token of a request, if it presents one. */
export const presentedToken = (header: string | undefined) =>
  /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "")?.[1];

/**
 * Whether `presented` is one of the role's tokens (the current and the next: a rotation
 * overlap). Digests are compared, not the tokens, so every comparison is constant-time whatever
 * the lengths, and every configured token is compared. Undefined when the role has no token.
 */
export async function matchesRole(env: Env, role: Role, presented: string): Promise<boolean | undefined> {
  const accepted = TOKENS[role](env).filter((t): t is string => Boolean(t));
  if (accepted.length === 0) return undefined;
  const [given, ...wanted] = await Promise.all([presented, ...accepted].map(sha256));
  let valid = false;
  for (const digest of wanted) valid = crypto.subtle.timingSafeEqual(given as ArrayBuffer, digest) || valid;
  return valid;
}

/**
 * Bearer authentication for a role, failing closed when the role has no token configured. A
 * producer token on an operator route is told so (403), so a misconfigured client learns why.
 */
const requireRole = (role: Role) =>
  createMiddleware<AppContext>(async (c, next) => {
    const presented = presentedToken(c.req.header("authorization"));
    const valid = presented === undefined ? false : await matchesRole(c.env, role, presented);
    if (valid === undefined)
      throw new HttpError(
        500,
        `Server misconfigured: no ${role === "producer" ? "dispatch" : role} token is set`,
      );
    if (presented === undefined) throw new HttpError(401, "Unauthorized");
    const producer = role === "operator" && (await matchesRole(c.env, "producer", presented));
    if (!valid) {
      if (producer)
        throw new HttpError(403, "Forbidden: this is the operator API; a producer token cannot use it");
      throw new HttpError(401, "Unauthorized");
    }
    // One token for both roles would make every producer an operator: refuse it, fail closed.
    if (producer)
      throw new HttpError(500, "Server misconfigured: the operator token equals a producer token");
    // The caller's identity for rate limiting: a fingerprint, never the token itself.
    c.set("caller", hex(await sha256(presented)).slice(0, 16));
    await next();
  });

export const requireProducer = requireRole("producer");
export const requireOperator = requireRole("operator");

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
