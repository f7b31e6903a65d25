import { COMPATIBILITY_DATE, LOCAL_COMPATIBILITY_FLAGS } from "../src/compatibility.ts";
import {
  DATABASE,
  LIMITER,
  LOCAL_RATE_LIMIT_NAMESPACE,
  QUEUES,
  RATE_LIMITS,
  type RateLimitName,
  RECONCILER,
  RETENTION,
  SECRETS,
  VARS,
  VERSION_METADATA,
  WORKER_NAME,
  WORKFLOWS,
} from "../src/topology.ts";
import { PLATFORM_FAULTS_BINDING, type PlatformFaults } from "./faults/config.ts";

export interface LocalSettings {
  authToken: string;
  /** The second accepted dispatch token, as during a rotation. */
  authTokenNext?: string;
  /** Operator credentials: the operator API and the console. */
  operatorToken?: string;
  operatorTokenNext?: string;
  /** Where alerts go (the reference backend's /control/alerts locally). */
  alertWebhookUrl?: string;
  backendUrl: string;
  backendToken?: string;
  /** Signs every backend call when set. */
  signingSecret?: string;
  retryDelayScale?: number;
  /** Overrides of the topology's rate limits, for tests that must reach them. */
  dispatchRateLimit?: number;
  tenantRateLimit?: number;
  /** Overrides of the recovery consumer, for tests that must exhaust it quickly. */
  recoveryMaxRetries?: number;
  vars?: Partial<Record<keyof typeof VARS, string>>;
  /**
   * Bound as PLATFORM_FAULTS, for the platform-fault wrapper (worker/local/faults) only: the
   * worker's Env and the topology's VARS never name it, so no deployment can bind it.
   */
  platformFaults?: PlatformFaults;
}

/**
 * Miniflare worker options for every binding in the topology, so local dev and the tests run
 * the same shape Pulumi deploys.
 */
export function localWorkerOptions(settings: LocalSettings) {
  const limits = { dispatch: settings.dispatchRateLimit, tenant: settings.tenantRateLimit };
  const scale = settings.retryDelayScale ?? 1;
  // RETRY_DELAY_SCALE shortens queue timings too, so recovery can be watched in seconds.
  const consumer = (c: (typeof QUEUES)[keyof typeof QUEUES]["consumer"], deadLetterQueue?: string) => ({
    maxBatchSize: c.maxBatchSize,
    maxBatchTimeout: Math.min(c.maxBatchTimeoutSeconds, Math.max(0.05, c.maxBatchTimeoutSeconds * scale)),
    maxRetries: c.maxRetries,
    retryDelay: Math.round(c.retryDelaySeconds * scale),
    ...(deadLetterQueue ? { deadLetterQueue } : {}),
  });
  return {
    name: WORKER_NAME,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: [...LOCAL_COMPATIBILITY_FLAGS],
    workflows: Object.fromEntries(
      Object.values(WORKFLOWS).map((w) => [w.binding, { name: w.name, className: w.className }]),
    ),
    d1Databases: { [DATABASE.binding]: DATABASE.name },
    durableObjects: { [LIMITER.binding]: { className: LIMITER.className, useSQLite: true } },
    versionMetadata: VERSION_METADATA.binding,
    queueProducers: { [QUEUES.recovery.binding]: { queueName: QUEUES.recovery.name } },
    queueConsumers: {
      [QUEUES.recovery.name]: {
        ...consumer(QUEUES.recovery.consumer, QUEUES.deadLetter.name),
        ...(settings.recoveryMaxRetries === undefined ? {} : { maxRetries: settings.recoveryMaxRetries }),
      },
      [QUEUES.deadLetter.name]: consumer(QUEUES.deadLetter.consumer),
    },
    cronTriggers: [RECONCILER.cron, RETENTION.cron],
    ratelimits: Object.fromEntries(
      (Object.keys(RATE_LIMITS) as RateLimitName[]).map((name) => {
        const { binding, offset, limit, period } = RATE_LIMITS[name];
        const namespace_id = String(LOCAL_RATE_LIMIT_NAMESPACE + offset);
        return [binding, { namespace_id, simple: { limit: limits[name] ?? limit, period } }];
      }),
    ),
    bindings: {
      ...VARS,
      ...settings.vars,
      BACKEND_URL: settings.backendUrl,
      RETRY_DELAY_SCALE: String(scale),
      [SECRETS.authToken]: settings.authToken,
      ...(settings.authTokenNext ? { [SECRETS.authTokenNext]: settings.authTokenNext } : {}),
      ...(settings.operatorToken ? { [SECRETS.operatorToken]: settings.operatorToken } : {}),
      ...(settings.operatorTokenNext ? { [SECRETS.operatorTokenNext]: settings.operatorTokenNext } : {}),
      ...(settings.alertWebhookUrl ? { [SECRETS.alertWebhookUrl]: settings.alertWebhookUrl } : {}),
      ...(settings.backendToken ? { [SECRETS.backendToken]: settings.backendToken } : {}),
      ...(settings.signingSecret ? { [SECRETS.signingSecret]: settings.signingSecret } : {}),
      ...(settings.platformFaults
        ? { [PLATFORM_FAULTS_BINDING]: JSON.stringify(settings.platformFaults) }
        : {}),
    },
  };
}
