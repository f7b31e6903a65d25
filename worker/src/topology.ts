/**
 * Every name and number that the worker, the local runtime, the tests and the
 * Pulumi program must agree on. Import-free on purpose: both the Workers bundle
 * and Node read it, and nothing here may pull either runtime in.
 */

export const WORKER_NAME = "jobs";

/** One Workflow per event family. `name` is account-wide: infra suffixes it per stack. */
export const WORKFLOWS = {
  email: { binding: "EMAIL_WORKFLOW", className: "EmailWorkflow", name: "jobs-email" },
  notification: {
    binding: "NOTIFICATION_WORKFLOW",
    className: "NotificationWorkflow",
    name: "jobs-notification",
  },
  payment: { binding: "PAYMENT_WORKFLOW", className: "PaymentWorkflow", name: "jobs-payment" },
  whatsapp: { binding: "WHATSAPP_WORKFLOW", className: "WhatsappWorkflow", name: "jobs-whatsapp" },
} as const;

export type WorkflowKind = keyof typeof WORKFLOWS;
export type WorkflowBinding = (typeof WORKFLOWS)[WorkflowKind]["binding"];
export const WORKFLOW_KINDS = Object.keys(WORKFLOWS) as WorkflowKind[];

/**
 * `migrationsTable` is wrangler's bookkeeping table, so `wrangler d1 migrations list/apply`
 * and this project agree on what a database has: one row per applied file of worker/migrations.
 */
export const DATABASE = { binding: "DB", name: "jobs", migrationsTable: "d1_migrations" } as const;

/**
 * The running version's id and upload time (Cloudflare's version metadata binding; locally the
 * runtime's start): alerting starts from the deploy that set it up, not from its first check.
 */
export const VERSION_METADATA = { binding: "CF_VERSION_METADATA" } as const;

/** The Durable Object holding backend calls to the stack's limits; `tag`: its class's migration. */
export const LIMITER = { binding: "BACKEND_LIMITER", className: "BackendLimiter", tag: "v1" } as const;

/**
 * Tier 2 and 3. A workflow that gives up sends a pointer to the recovery queue; after
 * `maxRetries` failed deliveries the queue moves it to the dead-letter queue. Every consumer
 * field is set explicitly: local defaults differ from production's.
 */
export const QUEUES = {
  recovery: {
    binding: "RECOVERY_QUEUE",
    name: "jobs-recovery",
    consumer: { maxBatchSize: 10, maxBatchTimeoutSeconds: 30, maxRetries: 10, retryDelaySeconds: 60 },
  },
  /** Its consumer only marks events dead in D1; it retries for hours before giving up. */
  deadLetter: {
    name: "jobs-dead-letter",
    consumer: { maxBatchSize: 10, maxBatchTimeoutSeconds: 30, maxRetries: 100, retryDelaySeconds: 300 },
  },
} as const;

export const RECOVERY = {
  /** Delay of the first recovery attempt after the workflow gave up. */
  firstDelaySeconds: 60,
  /** Delay after failed delivery n (1-based); the last one repeats. */
  ladderSeconds: [60, 300, 900, 1800, 2700, 3600, 5400, 7200],
  /** Cloudflare's ceiling for a message delay. */
  maxDelaySeconds: 86_400,
} as const;

/**
 * Retention sweep: delivered and discarded failures and old receipts; dead ones stay. The stack's
 * Workflows keep finished instances as long, up to Cloudflare's ceiling (`maxInstanceDays`).
 */
export const RETENTION = { cron: "17 * * * *", defaultDays: 7, maxInstanceDays: 30 } as const;

const DAY_MS = 86_400_000;

/** How long the stack's Workflows keep a finished instance, for `retentionDays` configured. */
export const instanceRetentionMs = (retentionDays: number) =>
  Math.min(retentionDays, RETENTION.maxInstanceDays) * DAY_MS;

/**
 * The reconciler: every minute, repairs what can strand (accepted events without an instance,
 * retrying events whose next delivery is overdue, hand-overs whose record is missing), with
 * bounded work per run. Local runs call the scheduled handler on an interval instead.
 */
export const RECONCILER = {
  cron: "* * * * *",
  /** How often `npm run dev` runs the scheduled handler, unless SCHEDULED_INTERVAL_SECONDS says. */
  localIntervalSeconds: 60,
  /** Bounded work per run; what is left waits for the next minute. */
  maxCreationsPerRun: 1200,
  /**
   * Rows the creation tail passes per run (it reads each row once, a minute after it was
   * written): above a minute's admissions at the account's creation limit (300/s).
   */
  maxTailRowsPerRun: 20_000,
  maxPointersPerRun: 500,
  maxInstanceChecksPerRun: 100,
  /** How long a started event runs (after its delay) before its instance is asked: past 4 attempts. */
  instanceCheckAfterMs: 30 * 60 * 1000,
  /** The first check comes sooner: an ending whose receipt was lost is put right within minutes. */
  firstCheckAfterMs: 2 * 60 * 1000,
  /** How late a recovery delivery may be before its pointer is sent again. */
  deliveryGraceMs: 15 * 60 * 1000,
} as const;

/**
 * Instance creation. Cloudflare allows 300 creations per second per account and 100 per workflow
 * (429 beyond, every item of a createBatch counts): one isolate paces itself below that, and a
 * 429 leaves the rest `accepted` for the reconciler.
 */
export const CREATION = {
  /** The platform's limits (Workflows limits page). */
  accountPerSecond: 300,
  workflowPerSecond: 100,
  /**
   * What every isolate of a stack shares (store/creation-budget.ts), per second: under the
   * platform's limits, with room for another stack in the same account and for clock skew.
   */
  budgetPerSecond: { account: 240, workflow: 90 },
  /** One isolate's own pace: only when the shared budget cannot be read (D1 failing). */
  perSecond: 80,
  /**
   * How long /dispatch waits for its batch to be recorded before it answers 503 + Retry-After:
   * well inside both SDKs' 10 s timeout, so a producer hears "send again" rather than silence.
   */
  recordBudgetMs: 5_000,
  /** How long a dispatch request or a reconciler run owns creating the events it claimed. */
  claimMs: 60_000,
} as const;

/**
 * Dispatch requests per authenticated caller (token fingerprint), and per tenant of a caller
 * when the request names one: a tenant's share is smaller, so one busy tenant cannot spend the
 * whole caller's budget, and naming new tenants cannot raise it. A rate limit's namespace id is
 * account-wide, so each stack gets its own (infra derives them); `offset` places this limit's
 * namespace after the stack's base id.
 */
export const RATE_LIMITS = {
  dispatch: { binding: "DISPATCH_RATE_LIMIT", offset: 0, limit: 600, period: 60 },
  tenant: { binding: "TENANT_RATE_LIMIT", offset: 1, limit: 150, period: 60 },
} as const;

/** Namespace base of local runs and tests: their limits are in-process, shared with nothing. */
export const LOCAL_RATE_LIMIT_NAMESPACE = 9_000;

export type RateLimitName = keyof typeof RATE_LIMITS;

/**
 * Secret bindings. Dispatch accepts the current and the next token, so producers can switch
 * with no downtime; the backend token falls back to the dispatch token when unset; callbacks are
 * signed when a signing secret is set.
 */
export const SECRETS = {
  authToken: "AUTH_TOKEN",
  authTokenNext: "AUTH_TOKEN_NEXT",
  backendToken: "BACKEND_TOKEN",
  signingSecret: "SIGNING_SECRET",
  /** Operators (the operator API and the console); producer tokens are refused there. */
  operatorToken: "OPERATOR_TOKEN",
  operatorTokenNext: "OPERATOR_TOKEN_NEXT",
  /** Where alerts are posted (a Slack-compatible incoming webhook); a secret, as its URL is one. */
  alertWebhookUrl: "ALERT_WEBHOOK_URL",
} as const;

/** Plain-text bindings with their defaults (the worker applies these when a var is absent). */
export const VARS = {
  BACKEND_URL: "",
  /** Multiplies every retry delay; 1 in production, smaller only for local runs and tests. */
  RETRY_DELAY_SCALE: "1",
  MAX_EVENTS_PER_REQUEST: "1000",
  /** Window of both rate limits in seconds (10 or 60): what Retry-After says on a 429. */
  RATE_LIMIT_PERIOD: String(RATE_LIMITS.dispatch.period),
  BACKEND_TIMEOUT_MS: "30000",
  RETENTION_DAYS: String(RETENTION.defaultDays),
  /** Actual queue names (suffixed per stack); the operator API reports them. */
  RECOVERY_QUEUE_NAME: QUEUES.recovery.name,
  DEAD_LETTER_QUEUE_NAME: QUEUES.deadLetter.name,
  /** Names the deployment in alerts. */
  STACK_NAME: "local",
  /** The worker's public URL, for console links in alerts; empty means none. */
  PUBLIC_URL: "",
  /** Alert thresholds (see ALERTS). */
  ALERT_DEAD_EVENTS: "1",
  ALERT_FAILURE_RATE: "0.5",
  ALERT_MIN_CALLS: "20",
  ALERT_BACKLOG: "100",
  EVENT_PRIORITIES: "{}",
  BACKEND_LIMITS: "{}",
} as const;

export type VarName = keyof typeof VARS;

/**
 * Alerts, checked by the scheduled handler: new dead events (at least ALERT_DEAD_EVENTS since
 * the last check), the backend's failure rate over `windowMs` (at least ALERT_FAILURE_RATE of at
 * least ALERT_MIN_CALLS calls), the recovery backlog (at least ALERT_BACKLOG events retrying).
 * One alert when a condition starts, one "resolved" when it clears.
 */
export const ALERTS = {
  windowMs: 15 * 60 * 1000,
  /** The webhook gets this long; the scheduled handler's other work never waits on it. */
  timeoutMs: 5_000,
  /** A firing rate or backlog resolves below this share of its threshold (no flapping). */
  resolveBelow: 0.8,
} as const;

/** Vars that only local runs and tests set; a deployment leaves them at their defaults. */
export const LOCAL_ONLY_VARS = ["RETRY_DELAY_SCALE"] as const satisfies readonly VarName[];

export const LIMITS = {
  /** Request body, counted while streaming. */
  bodyBytes: 1_048_576,
  /** Messages one queue sendBatch call may carry. */
  queueSendBatch: 100,
  /** Cloudflare's createBatch ceiling per call. */
  createBatchInstances: 100,
  /** Cloudflare's 1 MiB RPC ceiling per createBatch call, less headroom for framing. */
  createBatchBytes: 960 * 1024,
  /** Furthest a delay may reach. */
  maxDelayMs: 365 * 24 * 60 * 60 * 1000,
  instanceIdLength: 100,
  /** As SDK 0.1.5 bounds them (UTF-16 code units). */
  traceIdLength: 256,
  idempotencyKeyLength: 512,
  /** Longest tenant id sent as x-tenant-id; a longer one travels in the payload only. */
  tenantHeaderLength: 256,
  eventNameLength: 100,
  /** Backend error text kept in errors and logs. */
  errorTextLength: 500,
  /** One event's payload, as JSON, and how deep it may nest. */
  payloadBytes: 256 * 1024,
  payloadDepth: 64,
  /** Envelope metadata, passed through: small, so a stored event stays far below D1's 1 MB row. */
  metadataBytes: 16 * 1024,
  /** A tenant id used as a rate-limit key. */
  tenantIdLength: 128,
} as const;

/** Tier 1: the Workflow step. `limit` counts retries, so 3 means 4 attempts (1 s, 2 s, 4 s apart). */
export const STEP_RETRY = {
  limit: 3,
  delayMs: 1000,
  backoff: "exponential",
  /** Wall-clock budget of one attempt; the backend call itself has its own, shorter timeout. */
  timeoutMs: 2 * 60 * 1000,
  /** Longest Retry-After honoured as the delay before the next attempt. */
  maxRetryAfterMs: 60 * 60 * 1000,
} as const;
