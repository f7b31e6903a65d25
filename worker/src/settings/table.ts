import { RATE_LIMITS, RETENTION, SECRETS, VARS } from "../topology.ts";

/**
 * Every setting a stack can make, declared once: the stack reader (`infra/config.ts`), the
 * worker's checks (`vars.ts`), `Pulumi.yaml`'s config block and the README's table all derive
 * from this table (the last two are generated: `npm run settings`, checked by a test).
 */
export interface Setting {
  /** A secret is set with `pulumi config set --secret` and reaches the worker as a secret binding. */
  kind: "var" | "secret";
  type: "string" | "integer" | "boolean";
  /** What it does, one line: Pulumi.yaml's description and the README's. */
  doc: string;
  /** Absent: required, unless `optional`. */
  default?: string | number | boolean;
  /** No default, and none needed (a secret that may be unset, say). */
  optional?: true;
  /** Whole numbers from min to max. */
  range?: readonly [number, number];
  /** The only values allowed. */
  choices?: readonly (string | number)[];
  /** What a text must look like, and how to say it in an error. */
  pattern?: { test: RegExp; expected: string };
  /** The value `pulumi config set` is shown with when it is missing or wrong. */
  example?: string;
  /** The worker binding it sets, when it sets one. */
  binding?: string;
}

const HEX_ID = /^[0-9a-f]{32}$/;
const COUNT = [1, 1_000_000] as const;

export const SETTINGS = {
  accountId: {
    kind: "var",
    type: "string",
    doc: "Cloudflare account id that owns every resource of the stack.",
    pattern: { test: HEX_ID, expected: "the 32-character hex id shown in the Cloudflare dashboard" },
    example: "<cloudflare-account-id>",
  },
  backendUrl: {
    kind: "var",
    type: "string",
    doc: "Base URL (https) of the backend that receives POST /workflows/execute/<step>.",
    pattern: { test: /^https:\/\/[^\s/]+/, expected: "an https:// URL" },
    example: "https://<backend-host>",
    binding: "BACKEND_URL",
  },
  customDomain: {
    kind: "var",
    type: "string",
    doc: "Hostname to serve the worker on as a Workers custom domain (needs zoneId); empty for none.",
    default: "",
    example: "jobs.example.com",
  },
  zoneId: {
    kind: "var",
    type: "string",
    doc: "Cloudflare zone id of customDomain.",
    default: "",
    pattern: { test: HEX_ID, expected: "a 32-character hex zone id" },
    example: "<zone-id>",
  },
  workersDev: {
    kind: "var",
    type: "boolean",
    doc: "Also serve the worker on its workers.dev route.",
    default: true,
  },
  workersDevSubdomain: {
    kind: "var",
    type: "string",
    doc: "The account's workers.dev subdomain, only used to print the worker URL.",
    default: "",
    pattern: { test: /^[a-z0-9-]{1,63}$/, expected: "the account's workers.dev subdomain, e.g. acme-corp" },
    example: "<account-subdomain-of-workers.dev>",
  },
  rateLimit: {
    kind: "var",
    type: "integer",
    doc: "Dispatch requests allowed per caller (token fingerprint) per ratePeriod, per location.",
    default: RATE_LIMITS.dispatch.limit,
    range: COUNT,
  },
  ratePeriod: {
    kind: "var",
    type: "integer",
    doc: "Rate limit window in seconds; Workers allows 10 or 60.",
    default: RATE_LIMITS.dispatch.period,
    choices: [10, 60],
    binding: "RATE_LIMIT_PERIOD",
  },
  tenantRateLimit: {
    kind: "var",
    type: "integer",
    doc: "Dispatch requests allowed per tenant of a caller (X-Tenant-Id) per ratePeriod; keep it below rateLimit.",
    default: RATE_LIMITS.tenant.limit,
    range: COUNT,
  },
  maxEventsPerRequest: {
    kind: "var",
    type: "integer",
    doc: "Most events one /dispatch request may carry (413 above).",
    default: Number(VARS.MAX_EVENTS_PER_REQUEST),
    range: [1, 10_000],
    binding: "MAX_EVENTS_PER_REQUEST",
  },
  backendTimeoutMs: {
    kind: "var",
    type: "integer",
    doc: "Timeout of one backend call in milliseconds.",
    default: Number(VARS.BACKEND_TIMEOUT_MS),
    range: [1000, 120_000],
    binding: "BACKEND_TIMEOUT_MS",
  },
  retentionDays: {
    kind: "var",
    type: "integer",
    doc: "Days after which delivered or discarded failures and dispatch receipts are deleted.",
    default: RETENTION.defaultDays,
    range: [1, 365],
    binding: "RETENTION_DAYS",
  },
  logSamplingPercent: {
    kind: "var",
    type: "integer",
    doc: "Percentage of invocations whose logs Workers observability keeps.",
    default: 100,
    range: [0, 100],
  },
  protectData: {
    kind: "var",
    type: "boolean",
    doc: "Protect D1, both queues, the script and its Workflows (whose deletion deletes every instance) from deletion and replacement (on in production).",
    default: false,
    example: "true",
  },
  rateLimitNamespaceId: {
    kind: "var",
    type: "integer",
    doc: "Account-wide namespace id of the dispatch rate limit (the tenant limit uses the next id); 0 derives a distinct one from the stack name.",
    default: 0,
    range: [0, 2_000_000_000],
    example: "424242",
  },
  d1LocationHint: {
    kind: "var",
    type: "string",
    doc: "Where D1 places its primary when first created (wnam, enam, weur, eeur, apac, oc); pick the region nearest the backend. Empty lets Cloudflare place it near the machine running the first `pulumi up`.",
    default: "",
    choices: ["wnam", "enam", "weur", "eeur", "apac", "oc"],
    example: "weur",
  },
  workflowConcurrency: {
    kind: "var",
    type: "integer",
    doc: "Instances each Workflow runs at once; more wait their turn, so a backlog cannot flood the backend.",
    default: 100,
    range: [1, 10_000],
  },
  alertDeadEvents: {
    kind: "var",
    type: "integer",
    doc: "Alert when at least this many events went dead since the last check (every minute).",
    default: Number(VARS.ALERT_DEAD_EVENTS),
    range: COUNT,
    binding: "ALERT_DEAD_EVENTS",
  },
  alertFailurePercent: {
    kind: "var",
    type: "integer",
    doc: "Alert when at least this share (percent) of backend calls failed over the last 15 minutes...",
    default: Number(VARS.ALERT_FAILURE_RATE) * 100,
    range: [1, 100],
    binding: "ALERT_FAILURE_RATE",
  },
  alertMinCalls: {
    kind: "var",
    type: "integer",
    doc: "...and there were at least this many calls, so a handful of failures at night does not page anyone.",
    default: Number(VARS.ALERT_MIN_CALLS),
    range: COUNT,
    binding: "ALERT_MIN_CALLS",
  },
  alertBacklog: {
    kind: "var",
    type: "integer",
    doc: "Alert when at least this many events are retrying in the recovery tier.",
    default: Number(VARS.ALERT_BACKLOG),
    range: [1, 100_000_000],
    binding: "ALERT_BACKLOG",
  },
  authToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token producers send to /dispatch.",
    example: "<token>",
    binding: SECRETS.authToken,
  },
  authTokenNext: {
    kind: "secret",
    type: "string",
    doc: "A second accepted dispatch token, set only while rotating.",
    optional: true,
    example: "<token>",
    binding: SECRETS.authTokenNext,
  },
  backendToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token sent to the backend; authToken when unset.",
    optional: true,
    example: "<token>",
    binding: SECRETS.backendToken,
  },
  signingSecret: {
    kind: "secret",
    type: "string",
    doc: "HMAC key signing every backend call (X-Jobs-Signature); unsigned when unset.",
    optional: true,
    example: "<secret>",
    binding: SECRETS.signingSecret,
  },
  operatorToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token of operators: the operator API and the console.",
    example: "<token>",
    binding: SECRETS.operatorToken,
  },
  operatorTokenNext: {
    kind: "secret",
    type: "string",
    doc: "A second accepted operator token, set only while rotating.",
    optional: true,
    example: "<token>",
    binding: SECRETS.operatorTokenNext,
  },
  alertWebhookUrl: {
    kind: "secret",
    type: "string",
    doc: "Slack-compatible incoming webhook that receives alerts; none sent when unset.",
    optional: true,
    example: "https://hooks.slack.com/services/<...>",
    binding: SECRETS.alertWebhookUrl,
  },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** A setting the stack must make (no default, not optional). */
export const isRequired = (key: SettingKey): boolean => {
  const setting: Setting = SETTINGS[key];
  return setting.default === undefined && !setting.optional;
};

/** The command that sets a key, as errors and the docs show it. */
export function setCommand(key: SettingKey): string {
  const setting: Setting = SETTINGS[key];
  const value = setting.example ?? String(setting.default);
  return `pulumi config set ${setting.kind === "secret" ? "--secret " : ""}${key} ${value}`;
}

/** The whole-number range of an integer setting (its choices' span, if it lists choices). */
export function rangeOf(key: SettingKey): readonly [number, number] {
  const setting: Setting = SETTINGS[key];
  if (setting.range) return setting.range;
  const numbers = (setting.choices ?? []).filter((c): c is number => typeof c === "number");
  if (numbers.length === 0) throw new Error(`${key} has no range`);
  return [Math.min(...numbers), Math.max(...numbers)];
}
