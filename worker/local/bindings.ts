import {
  COMPATIBILITY_DATE,
  COMPATIBILITY_FLAGS,
  DATABASE,
  RATE_LIMITS,
  SECRETS,
  VARS,
  WORKER_NAME,
  WORKFLOWS,
} from "../src/topology.ts";

export interface LocalSettings {
  authToken: string;
  backendUrl: string;
  backendToken?: string;
  retryDelayScale?: number;
  /** Overrides of the topology's rate limit, for tests that must reach it. */
  dispatchRateLimit?: number;
  vars?: Partial<Record<keyof typeof VARS, string>>;
}

/**
 * Miniflare worker options for every binding in the topology, so local dev and the tests run
 * the same shape Pulumi deploys.
 */
export function localWorkerOptions(settings: LocalSettings) {
  const limit = RATE_LIMITS.dispatch;
  return {
    name: WORKER_NAME,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: [...COMPATIBILITY_FLAGS],
    workflows: Object.fromEntries(
      Object.values(WORKFLOWS).map((w) => [w.binding, { name: w.name, className: w.className }]),
    ),
    d1Databases: { [DATABASE.binding]: DATABASE.name },
    ratelimits: {
      [limit.binding]: {
        namespace_id: limit.namespaceId,
        simple: { limit: settings.dispatchRateLimit ?? limit.limit, period: limit.period },
      },
    },
    bindings: {
      ...VARS,
      ...settings.vars,
      BACKEND_URL: settings.backendUrl,
      RETRY_DELAY_SCALE: String(settings.retryDelayScale ?? 1),
      [SECRETS.authToken]: settings.authToken,
      ...(settings.backendToken ? { [SECRETS.backendToken]: settings.backendToken } : {}),
    },
  };
}
