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
  /**
   * Protect what holds data or live work (D1, both queues, the Workflows and their instances,
   * the script) from deletion and replacement: on for production.
   */
  protectData: boolean;
  /** Base of this stack's two account-wide rate-limit namespace ids (dispatch, then tenant). */
  rateLimitNamespaceId: number;
  /** Where D1 places its primary when created: near the backend, since every step writes it. */
  d1LocationHint: D1LocationHint | undefined;
  /** Running instances per Workflow; more wait their turn, so a backlog cannot flood the backend. */
  workflowConcurrency: number;
  authToken: pulumi.Output<string>;
  /** Accepted beside authToken during a rotation. */
  authTokenNext: pulumi.Output<string> | undefined;
  backendToken: pulumi.Output<string> | undefined;
  /** Signs every backend call when set. */
  signingSecret: pulumi.Output<string> | undefined;
  /** The operator API and the console; producer tokens are refused there. */
  operatorToken: pulumi.Output<string>;
  operatorTokenNext: pulumi.Output<string> | undefined;
  /** Slack-compatible incoming webhook for alerts; none are sent when unset. */
  alertWebhookUrl: pulumi.Output<string> | undefined;
  alerts: { deadEvents: number; failurePercent: number; minCalls: number; backlog: number };
}

export const D1_LOCATION_HINTS = ["wnam", "enam", "weur", "eeur", "apac", "oc"] as const;
export type D1LocationHint = (typeof D1_LOCATION_HINTS)[number];

/** Workflow instances that may run at once per Workflow, unless the stack says otherwise. */
export const DEFAULT_WORKFLOW_CONCURRENCY = 100;

/**
 * Rate-limit namespace ids are account-wide numbers: derive a distinct, stable base per stack
 * (FNV-1a of its name) so dev traffic never spends prod's budget. Even, so base + 1 is free.
 */
export function defaultRateLimitNamespace(stack: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(stack)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return 100_000 + (hash % 450_000) * 2;
}

/** Hosts reserved for documentation and tests (RFC 2606, RFC 6761): never a real deployment. */
const PLACEHOLDER_HOST = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Every key the program reads, with the command that sets it; Pulumi.yaml documents the same keys. */
export const CONFIG_KEYS = {
  accountId: "pulumi config set accountId <cloudflare-account-id>",
  backendUrl: "pulumi config set backendUrl https://<backend-host>",
  customDomain: "pulumi config set customDomain jobs.example.com",
  zoneId: "pulumi config set zoneId <zone-id>",
  workersDev: "pulumi config set workersDev true",
  workersDevSubdomain: "pulumi config set workersDevSubdomain <account-subdomain-of-workers.dev>",
  rateLimit: "pulumi config set rateLimit 600",
  ratePeriod: "pulumi config set ratePeriod 60",
  tenantRateLimit: "pulumi config set tenantRateLimit 150",
  maxEventsPerRequest: "pulumi config set maxEventsPerRequest 1000",
  backendTimeoutMs: "pulumi config set backendTimeoutMs 30000",
  retentionDays: "pulumi config set retentionDays 7",
  logSamplingPercent: "pulumi config set logSamplingPercent 100",
  protectData: "pulumi config set protectData true",
  rateLimitNamespaceId: "pulumi config set rateLimitNamespaceId 424242",
  d1LocationHint: "pulumi config set d1LocationHint weur",
  workflowConcurrency: "pulumi config set workflowConcurrency 100",
  authToken: "pulumi config set --secret authToken <token>",
  authTokenNext: "pulumi config set --secret authTokenNext <token>",
  backendToken: "pulumi config set --secret backendToken <token>",
  signingSecret: "pulumi config set --secret signingSecret <secret>",
  operatorToken: "pulumi config set --secret operatorToken <token>",
  operatorTokenNext: "pulumi config set --secret operatorTokenNext <token>",
  alertWebhookUrl: "pulumi config set --secret alertWebhookUrl https://hooks.slack.com/services/<...>",
  alertDeadEvents: "pulumi config set alertDeadEvents 1",
  alertFailurePercent: "pulumi config set alertFailurePercent 50",
  alertMinCalls: "pulumi config set alertMinCalls 20",
  alertBacklog: "pulumi config set alertBacklog 100",
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
    if (!Number.isInteger(value) || value < min || value > max)
      throw invalid(key, `expected a whole number from ${min} to ${max}`);
    return value;
  };
  const flag = (key: Key, fallback: boolean) => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    if (raw !== "true" && raw !== "false") throw invalid(key, "expected true or false");
    return raw === "true";
  };

  const accountId = required("accountId");
  if (!/^[0-9a-f]{32}$/.test(accountId))
    throw invalid("accountId", "expected the 32-character hex id shown in the Cloudflare dashboard");
  const backendUrl = required("backendUrl");
  if (!/^https:\/\/[^\s/]+/.test(backendUrl)) throw invalid("backendUrl", "expected an https:// URL");
  if (PLACEHOLDER_HOST.test(new URL(backendUrl).hostname))
    throw invalid("backendUrl", "a reserved example host, not a real backend");
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
  if (customDomain && PLACEHOLDER_HOST.test(customDomain))
    throw invalid("customDomain", "a reserved example host, not a real hostname");
  if (customDomain && !zoneId) throw missing("zoneId");
  if (zoneId && !/^[0-9a-f]{32}$/.test(zoneId))
    throw invalid("zoneId", "expected a 32-character hex zone id");
  const workersDev = flag("workersDev", true);
  const workersDevSubdomain = text("workersDevSubdomain");
  // A stack must be reachable at a URL the deploy can smoke-test, known before anything changes.
  if (!customDomain && !workersDev)
    throw invalid("workersDev", "the stack would have no route: set customDomain, or workersDev true");
  if (!customDomain && !workersDevSubdomain) throw missing("workersDevSubdomain");
  if (workersDevSubdomain && !/^[a-z0-9-]{1,63}$/.test(workersDevSubdomain))
    throw invalid("workersDevSubdomain", "expected the account's workers.dev subdomain, e.g. acme-corp");
  const d1LocationHint = text("d1LocationHint");
  if (d1LocationHint !== undefined && !(D1_LOCATION_HINTS as readonly string[]).includes(d1LocationHint))
    throw invalid("d1LocationHint", `expected one of ${D1_LOCATION_HINTS.join(", ")}`);
  if (config.get("authToken") === undefined) throw missing("authToken");
  if (config.get("operatorToken") === undefined) throw missing("operatorToken");

  return {
    stack,
    accountId,
    backendUrl,
    customDomain,
    zoneId,
    workersDev,
    workersDevSubdomain,
    rateLimit: { ...rates, period },
    maxEventsPerRequest: number("maxEventsPerRequest", Number(VARS.MAX_EVENTS_PER_REQUEST), 1, 10_000),
    backendTimeoutMs: number("backendTimeoutMs", Number(VARS.BACKEND_TIMEOUT_MS), 1000, 120_000),
    retentionDays: number("retentionDays", RETENTION.defaultDays, 1, 365),
    logSamplingPercent: number("logSamplingPercent", 100, 0, 100),
    protectData: flag("protectData", false),
    // 0, Pulumi.yaml's default, means "derive it from the stack name".
    rateLimitNamespaceId:
      number("rateLimitNamespaceId", 0, 0, 2_000_000_000) || defaultRateLimitNamespace(stack),
    d1LocationHint: d1LocationHint as D1LocationHint | undefined,
    workflowConcurrency: number("workflowConcurrency", DEFAULT_WORKFLOW_CONCURRENCY, 1, 10_000),
    authToken: config.requireSecret("authToken"),
    authTokenNext: optionalSecret("authTokenNext"),
    backendToken: optionalSecret("backendToken"),
    signingSecret: optionalSecret("signingSecret"),
    operatorToken: config.requireSecret("operatorToken"),
    operatorTokenNext: optionalSecret("operatorTokenNext"),
    alertWebhookUrl: optionalSecret("alertWebhookUrl"),
    alerts: {
      deadEvents: number("alertDeadEvents", Number(VARS.ALERT_DEAD_EVENTS), 1, 1_000_000),
      failurePercent: number("alertFailurePercent", Number(VARS.ALERT_FAILURE_RATE) * 100, 1, 100),
      minCalls: number("alertMinCalls", Number(VARS.ALERT_MIN_CALLS), 1, 1_000_000),
      backlog: number("alertBacklog", Number(VARS.ALERT_BACKLOG), 1, 100_000_000),
    },
  };
}

function throwError(error: Error): never {
  throw error;
}
