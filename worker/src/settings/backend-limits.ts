import * as z from "zod";
import { EVENT_NAMES, stepsOf } from "../events/catalog.ts";
import { ConfigError } from "./config-error.ts";

/** Every backend path the catalog calls: a limit on any other would hold nothing. */
const PATHS = new Set(EVENT_NAMES.flatMap((name) => stepsOf(name)));

/** One limit: calls started per second, calls in flight at once, or both. */
const Limit = z
  .strictObject({
    perSecond: z.number().int().min(1).max(100_000).optional(),
    inFlight: z.number().int().min(1).max(100_000).optional(),
  })
  .refine((l) => l.perSecond !== undefined || l.inFlight !== undefined, "needs perSecond, inFlight or both");
export type Limit = z.infer<typeof Limit>;

/**
 * The stack's limits on its backend (`BACKEND_LIMITS`, JSON): by backend path, `*` for every
 * call together, `perTenant` for each tenant's calls (events without one count as one tenant).
 * A call waits until it fits every limit that applies to it.
 */
const BackendLimits = z.record(z.string(), Limit);
export type BackendLimits = z.infer<typeof BackendLimits>;

/** A limit as the limiter counts it: its key names what it limits. */
export interface LimitKey extends Limit {
  key: string;
}

/** Reads `BACKEND_LIMITS`; throws ConfigError saying what is wrong. */
export function parseBackendLimits(text: string): BackendLimits {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError("BACKEND_LIMITS must be a JSON object");
  }
  const parsed = BackendLimits.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `BACKEND_LIMITS: ${issue?.path.join(".") || "value"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const unknown = Object.keys(parsed.data).find(
    (key) => key !== "*" && key !== "perTenant" && !PATHS.has(key),
  );
  if (unknown !== undefined)
    throw new ConfigError(
      `BACKEND_LIMITS: ${unknown} is no backend path of the catalog (nor "*" or "perTenant")`,
    );
  return parsed.data;
}

/** The settings table's check of the text (the stack reader runs it before anything deploys). */
export const BACKEND_LIMITS_PATTERN = {
  test(text: string): boolean {
    try {
      parseBackendLimits(text);
      return true;
    } catch {
      return false;
    }
  },
};

/** The limits a call to `path` for `tenant` must fit: its path's, everyone's, its tenant's. */
export function limitsFor(limits: BackendLimits, path: string, tenant: string | null): LimitKey[] {
  const keys: LimitKey[] = [];
  const own = Object.hasOwn(limits, path) && path !== "*" && path !== "perTenant" ? limits[path] : undefined;
  if (own) keys.push({ key: `path ${path}`, ...own });
  if (limits["*"]) keys.push({ key: "all calls", ...limits["*"] });
  if (limits.perTenant) keys.push({ key: `tenant ${tenant ?? ""}`, ...limits.perTenant });
  return keys;
}
