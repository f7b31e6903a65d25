import type { types } from "@pulumi/cloudflare";
import type * as pulumi from "@pulumi/pulumi";
import {
  DATABASE,
  LIMITER,
  LOCAL_ONLY_VARS,
  QUEUES,
  RATE_LIMITS,
  type RateLimitName,
  SECRETS,
  VARS,
  type VarName,
  VERSION_METADATA,
  WORKFLOW_KINDS,
  WORKFLOWS,
} from "../worker/src/topology.ts";
import type { StackConfig } from "./config.ts";
import type { StackNames } from "./names.ts";

type Binding = types.input.WorkersScriptBinding;

/** Where the stack serves (config validation guarantees one of the two routes). */
export function workerUrl(config: StackConfig, names: StackNames): string {
  return config.customDomain
    ? `https://${config.customDomain}`
    : `https://${names.script}.${config.workersDevSubdomain}.workers.dev`;
}

/** Values of the plain-text bindings; every var of the topology that a deployment sets. */
export function deployedVars(
  config: StackConfig,
  names: StackNames,
): Record<Exclude<VarName, (typeof LOCAL_ONLY_VARS)[number]>, string> {
  return {
    BACKEND_URL: config.backendUrl,
    MAX_EVENTS_PER_REQUEST: String(config.maxEventsPerRequest),
    RATE_LIMIT_PERIOD: String(config.rateLimit.period),
    BACKEND_TIMEOUT_MS: String(config.backendTimeoutMs),
    RETENTION_DAYS: String(config.retentionDays),
    RECOVERY_QUEUE_NAME: names.recoveryQueue,
    DEAD_LETTER_QUEUE_NAME: names.deadLetterQueue,
    STACK_NAME: config.stack,
    PUBLIC_URL: workerUrl(config, names),
    ALERT_DEAD_EVENTS: String(config.alerts.deadEvents),
    ALERT_FAILURE_RATE: String(config.alerts.failurePercent / 100),
    ALERT_MIN_CALLS: String(config.alerts.minCalls),
    ALERT_BACKLOG: String(config.alerts.backlog),
    EVENT_PRIORITIES: config.eventPriorities,
    BACKEND_LIMITS: config.backendLimits,
  };
}

/** Every binding the worker's Env declares, from the topology, with this stack's names and values. */
export function scriptBindings(
  config: StackConfig,
  names: StackNames,
  databaseId: pulumi.Input<string>,
): pulumi.Input<Binding>[] {
  return [
    ...WORKFLOW_KINDS.map((kind) => ({
      type: "workflow",
      name: WORKFLOWS[kind].binding,
      workflowName: names.workflow(kind),
      className: WORKFLOWS[kind].className,
    })),
    { type: "queue", name: QUEUES.recovery.binding, queueName: names.recoveryQueue },
    { type: "d1", name: DATABASE.binding, id: databaseId },
    { type: "version_metadata", name: VERSION_METADATA.binding },
    ...(limitsBackend(config)
      ? [{ type: "durable_object_namespace", name: LIMITER.binding, className: LIMITER.className }]
      : []),
    ...(Object.keys(RATE_LIMITS) as RateLimitName[]).map((name) => ({
      type: "ratelimit",
      name: RATE_LIMITS[name].binding,
      namespaceId: String(config.rateLimitNamespaceId + RATE_LIMITS[name].offset),
      simple: { limit: config.rateLimit[name], period: config.rateLimit.period },
    })),
    ...Object.entries(deployedVars(config, names)).map(([name, text]) => ({
      type: "plain_text",
      name,
      text,
    })),
    { type: "secret_text", name: SECRETS.authToken, text: config.authToken },
    { type: "secret_text", name: SECRETS.operatorToken, text: config.operatorToken },
    ...optionalSecrets(config).map(([name, text]) => ({ type: "secret_text", name, text })),
  ];
}

/**
 * Whether the stack limits its backend: only then does its script hold the limiter (a Durable
 * Object, and the migration that creates its class), so a stack without limits deploys as before.
 */
export const limitsBackend = (config: StackConfig) => config.backendLimits.trim() !== "{}";

/** The secrets a stack may leave unset; each is bound only when set. */
function optionalSecrets(config: StackConfig): [string, pulumi.Output<string>][] {
  const secrets: [string, pulumi.Output<string> | undefined][] = [
    [SECRETS.authTokenNext, config.authTokenNext],
    [SECRETS.backendToken, config.backendToken],
    [SECRETS.signingSecret, config.signingSecret],
    [SECRETS.operatorTokenNext, config.operatorTokenNext],
    [SECRETS.alertWebhookUrl, config.alertWebhookUrl],
  ];
  return secrets.filter((entry): entry is [string, pulumi.Output<string>] => entry[1] !== undefined);
}

/** The names the worker's Env expects from a deployment (the optional backend token aside). */
export function expectedBindingNames(): string[] {
  const vars = Object.keys(VARS).filter((name) => !(LOCAL_ONLY_VARS as readonly string[]).includes(name));
  return [
    ...WORKFLOW_KINDS.map((kind) => WORKFLOWS[kind].binding),
    QUEUES.recovery.binding,
    DATABASE.binding,
    VERSION_METADATA.binding,
    ...Object.values(RATE_LIMITS).map((limit) => limit.binding),
    ...vars,
    SECRETS.authToken,
    SECRETS.operatorToken,
  ].sort();
}
