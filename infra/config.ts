import * as pulumi from "@pulumi/pulumi";
import {
  rangeOf,
  SETTING_KEYS,
  SETTINGS,
  type Setting,
  type SettingKey,
  setCommand,
} from "../worker/src/settings/table.ts";
import { VARS } from "../worker/src/topology.ts";

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
  /** Events this stack moves between the interactive and bulk classes (JSON, checked). */
  eventPriorities: string;
  /** Limits on the backend's calls (JSON, checked). */
  backendLimits: string;
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

export const D1_LOCATION_HINTS = SETTINGS.d1LocationHint.choices;
export type D1LocationHint = (typeof D1_LOCATION_HINTS)[number];

/** Workflow instances that may run at once per Workflow, unless the stack says otherwise. */
export const DEFAULT_WORKFLOW_CONCURRENCY = SETTINGS.workflowConcurrency.default;

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

/** Every key the program reads, with the command that sets it (from the settings table, as Pulumi.yaml is). */
export const CONFIG_KEYS = Object.fromEntries(SETTING_KEYS.map((key) => [key, setCommand(key)])) as Record<
  SettingKey,
  string
>;

type Key = SettingKey;

export function readStackConfig(config = new pulumi.Config(), stack = pulumi.getStack()): StackConfig {
  const fix = (key: Key) => `${CONFIG_KEYS[key]} --stack ${stack}`;
  const missing = (key: Key) =>
    new ConfigError(`Missing required config "${key}" for stack "${stack}". Set it with: ${fix(key)}`);
  const invalid = (key: Key, why: string) =>
    new ConfigError(`Invalid config "${key}" for stack "${stack}": ${why}. Set it with: ${fix(key)}`);
  const text = (key: Key) => config.get(key) || undefined;
  const optionalSecret = (key: Key) => (text(key) === undefined ? undefined : config.requireSecret(key));
  const required = (key: Key) => text(key) ?? throwError(missing(key));
  const number = (key: Key) => {
    const [min, max] = rangeOf(key);
    const raw = text(key);
    const value = raw === undefined ? Number((SETTINGS[key] as Setting).default) : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      throw invalid(key, `expected a whole number from ${min} to ${max}`);
    return value;
  };
  const flag = (key: Key) => {
    const raw = text(key);
    if (raw === undefined) return (SETTINGS[key] as Setting).default === true;
    if (raw !== "true" && raw !== "false") throw invalid(key, "expected true or false");
    return raw === "true";
  };

  /** A text that must match its setting's pattern when set. */
  const checked = (key: Key, value: string | undefined) => {
    const { pattern } = SETTINGS[key] as Setting;
    if (value !== undefined && pattern && !pattern.test.test(value))
      throw invalid(key, `expected ${pattern.expected}`);
    return value;
  };
  const accountId = checked("accountId", required("accountId")) as string;
  const backendUrl = checked("backendUrl", required("backendUrl")) as string;
  if (PLACEHOLDER_HOST.test(new URL(backendUrl).hostname))
    throw invalid("backendUrl", "a reserved example host, not a real backend");
  const period = number("ratePeriod");
  if (period !== 10 && period !== 60)
    throw invalid("ratePeriod", "Workers rate limits allow 10 or 60 seconds");
  const rates = {
    dispatch: number("rateLimit"),
    tenant: number("tenantRateLimit"),
  };
  if (rates.tenant > rates.dispatch)
    throw invalid("tenantRateLimit", "a tenant's share cannot exceed rateLimit");
  const customDomain = text("customDomain");
  const zoneId = checked("zoneId", text("zoneId"));
  if (customDomain && PLACEHOLDER_HOST.test(customDomain))
    throw invalid("customDomain", "a reserved example host, not a real hostname");
  if (customDomain && !zoneId) throw missing("zoneId");
  const workersDev = flag("workersDev");
  const workersDevSubdomain = checked("workersDevSubdomain", text("workersDevSubdomain"));
  // A stack must be reachable at a URL the deploy can smoke-test, known before anything changes.
  if (!customDomain && !workersDev)
    throw invalid("workersDev", "the stack would have no route: set customDomain, or workersDev true");
  if (!customDomain && !workersDevSubdomain) throw missing("workersDevSubdomain");
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
    maxEventsPerRequest: number("maxEventsPerRequest"),
    backendTimeoutMs: number("backendTimeoutMs"),
    retentionDays: number("retentionDays"),
    logSamplingPercent: number("logSamplingPercent"),
    protectData: flag("protectData"),
    // 0, Pulumi.yaml's default, means "derive it from the stack name".
    rateLimitNamespaceId: number("rateLimitNamespaceId") || defaultRateLimitNamespace(stack),
    d1LocationHint: d1LocationHint as D1LocationHint | undefined,
    workflowConcurrency: number("workflowConcurrency"),
    eventPriorities: checked("eventPriorities", text("eventPriorities")) ?? VARS.EVENT_PRIORITIES,
    backendLimits: checked("backendLimits", text("backendLimits")) ?? VARS.BACKEND_LIMITS,
    authToken: config.requireSecret("authToken"),
    authTokenNext: optionalSecret("authTokenNext"),
    backendToken: optionalSecret("backendToken"),
    signingSecret: optionalSecret("signingSecret"),
    operatorToken: config.requireSecret("operatorToken"),
    operatorTokenNext: optionalSecret("operatorTokenNext"),
    alertWebhookUrl: optionalSecret("alertWebhookUrl"),
    alerts: {
      deadEvents: number("alertDeadEvents"),
      failurePercent: number("alertFailurePercent"),
      minCalls: number("alertMinCalls"),
      backlog: number("alertBacklog"),
    },
  };
}

function throwError(error: Error): never {
  throw error;
}
