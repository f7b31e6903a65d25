import * as pulumi from "@pulumi/pulumi";
import { RATE_LIMITS, RETENTION, VARS } from "../worker/src/topology.ts";

/** Everything a stack can set, read once, typed, with the fix spelled out when something is missing. */
export interface StackConfig {
  stack: string;
  accountId: string;
  backendUrl: string;
  /** Serve on this hostname (a Workers custom domain) when set. */
  customDomain: string | undefined;
  zoneId: string | undefined;
  /** Also serve on <script>.<workersDevSubdomain>.workers.dev. */
  workersDev: boolean;
  workersDevSubdomain: string | undefined;
  /** Requests per caller and per named tenant of a caller, in one window. */
  rateLimit: { dispatch: number; tenant: number; period: 10 | 60 };
  maxEventsPerRequest: number;
  backendTimeoutMs: number;
  retentionDays: number;
  /** Share of requests whose logs Workers observability keeps, 0–100. */
  logSamplingPercent: number;
  /** Protect data resources (D1, dead-letter queue) from deletion: on for production. */
  protectData: boolean;
  authToken: pulumi.Output<string>;
  /** Accepted beside authToken during a rotation. */
  authTokenNext: pulumi.Output<string> | undefined;
  backendToken: pulumi.Output<string> | undefined;
  /** Signs every backend call when set. */
  signingSecret: pulumi.Output<string> | undefined;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Every key the program reads, with the command that sets it; Pulumi.yaml documents the same keys. */
export const CONFIG_KEYS = {
  accountId: "pulumi config set accountId <cloudflare-account-id>",
  backendUrl: "pulumi config set backendUrl https://api.example.com",
  customDomain: "pulumi config set customDomain jobs.example.com",
  zoneId: "pulumi config set zoneId <zone-id>",
  workersDev: "pulumi config set workersDev true",
  workersDevSubdomain: "pulumi config set workersDevSubdomain <account-subdomain>",
  rateLimit: "pulumi config set rateLimit 600",
  ratePeriod: "pulumi config set ratePeriod 60",
  tenantRateLimit: "pulumi config set tenantRateLimit 150",
  maxEventsPerRequest: "pulumi config set maxEventsPerRequest 1000",
  backendTimeoutMs: "pulumi config set backendTimeoutMs 30000",
  retentionDays: "pulumi config set retentionDays 7",
  logSamplingPercent: "pulumi config set logSamplingPercent 100",
  protectData: "pulumi config set protectData true",
  authToken: "pulumi config set --secret authToken <token>",
  authTokenNext: "pulumi config set --secret authTokenNext <token>",
  backendToken: "pulumi config set --secret backendToken <token>",
  signingSecret: "pulumi config set --secret signingSecret <secret>",
} as const;

type Key = keyof typeof CONFIG_KEYS;

export function readStackConfig(config = new pulumi.Config(), stack = pulumi.getStack()): StackConfig {
  const fix = (key: Key) => `${CONFIG_KEYS[key]} --stack ${stack}`;
  const missing = (key: Key) =>
    new ConfigError(`Missing required config "${key}" for stack "${stack}". Set it with: ${fix(key)}`);
  const invalid = (key: Key, why: string) =>
    new ConfigError(`Invalid config "${key}" for stack "${stack}": ${why}. Set it with: ${fix(key)}`);
  const text = (key: Key) => config.get(key) || undefined;
  const optionalSecret = (key: Key) => (text(key) === undefined ? undefined : config.requireSecret(key));
  const required = (key: Key) => text(key) ?? throwError(missing(key));
  const number = (key: Key, fallback: number, min: number, max: number) => {
    const raw = text(key);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min || value > max)
      throw invalid(key, `expected a number from ${min} to ${max}`);
    return value;
  };
  const flag = (key: Key, fallback: boolean) => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    if (raw !== "true" && raw !== "false") throw invalid(key, "expected true or false");
    return raw === "true";
  };

  const backendUrl = required("backendUrl");
  if (!/^https:\/\/[^\s/]+/.test(backendUrl)) throw invalid("backendUrl", "expected an https:// URL");
  const period = number("ratePeriod", RATE_LIMITS.dispatch.period, 10, 60);
  if (period !== 10 && period !== 60)
    throw invalid("ratePeriod", "Workers rate limits allow 10 or 60 seconds");
  const rates = {
    dispatch: number("rateLimit", RATE_LIMITS.dispatch.limit, 1, 1_000_000),
    tenant: number("tenantRateLimit", RATE_LIMITS.tenant.limit, 1, 1_000_000),
  };
  if (rates.tenant > rates.dispatch)
    throw invalid("tenantRateLimit", "a tenant's share cannot exceed rateLimit");
  const customDomain = text("customDomain");
  const zoneId = text("zoneId");
  if (customDomain && !zoneId) throw missing("zoneId");
  if (config.get("authToken") === undefined) throw missing("authToken");

  return {
    stack,
    accountId: required("accountId"),
    backendUrl,
    customDomain,
    zoneId,
    workersDev: flag("workersDev", true),
    workersDevSubdomain: text("workersDevSubdomain"),
    rateLimit: { ...rates, period },
    maxEventsPerRequest: number("maxEventsPerRequest", Number(VARS.MAX_EVENTS_PER_REQUEST), 1, 10_000),
    backendTimeoutMs: number("backendTimeoutMs", Number(VARS.BACKEND_TIMEOUT_MS), 1000, 120_000),
    retentionDays: number("retentionDays", RETENTION.defaultDays, 1, 365),
    logSamplingPercent: number("logSamplingPercent", 100, 0, 100),
    protectData: flag("protectData", false),
    authToken: config.requireSecret("authToken"),
    authTokenNext: optionalSecret("authTokenNext"),
    backendToken: optionalSecret("backendToken"),
    signingSecret: optionalSecret("signingSecret"),
  };
}

function throwError(error: Error): never {
  throw error;
}
