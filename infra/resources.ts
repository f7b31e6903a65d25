import { relative } from "node:path";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { Bundle } from "../worker/build.ts";
import { COMPATIBILITY_DATE, DEPLOYED_COMPATIBILITY_FLAGS } from "../worker/src/compatibility.ts";
import {
  instanceRetentionMs,
  LIMITER,
  QUEUES,
  RECONCILER,
  RETENTION,
  WORKFLOW_KINDS,
  WORKFLOWS,
} from "../worker/src/topology.ts";
import { limitsBackend, scriptBindings, workerUrl } from "./bindings.ts";
import type { StackConfig } from "./config.ts";
import { cloudflareApiToken, D1Migrations } from "./d1-migrations.ts";
import { stackNames } from "./names.ts";

type Consumer = (typeof QUEUES)[keyof typeof QUEUES]["consumer"];

/** Queue consumer settings, every one explicit: Cloudflare's defaults are not ours. */
export function consumerSettings(consumer: Consumer) {
  return {
    batchSize: consumer.maxBatchSize,
    maxRetries: consumer.maxRetries,
    maxWaitTimeMs: consumer.maxBatchTimeoutSeconds * 1000,
    retryDelay: consumer.retryDelaySeconds,
  };
}

/**
 * How each resource may be deleted or replaced. Every resource here is keyed by a name in the
 * account, so Pulumi's default create-then-delete replacement would write the new one under the
 * live name and then delete it: replace delete-first instead. What holds data or live work (D1,
 * both queues, the script and its Workflows, whose deletion deletes every instance) is
 * protected when the stack says so: a replacement then stops the preview instead of running.
 */
export function lifecycle(config: StackConfig) {
  return {
    durable: { deleteBeforeReplace: true, protect: config.protectData },
    replaceable: { deleteBeforeReplace: true },
  } satisfies Record<string, pulumi.CustomResourceOptions>;
}

/**
 * The upload path as the provider opens it: the CLI starts the program and the provider in the
 * project's `main` directory, and the provider resolves a relative path against it.
 */
export function contentFile(bundle: Bundle, cwd = process.cwd()): string {
  return relative(cwd, bundle.path);
}

/**
 * Declares one environment: queues and database first, then the script that binds them, then
 * what needs the script (workflows, consumers, cron, routes).
 */
export function declareStack(config: StackConfig, bundle: Bundle) {
  const names = stackNames(config.stack);
  const { accountId } = config;
  const { durable, replaceable } = lifecycle(config);

  const recoveryQueue = new cloudflare.Queue(
    "recovery-queue",
    { accountId, queueName: names.recoveryQueue },
    durable,
  );
  const deadLetterQueue = new cloudflare.Queue(
    "dead-letter-queue",
    { accountId, queueName: names.deadLetterQueue },
    durable,
  );
  const database = new cloudflare.D1Database(
    "database",
    {
      accountId,
      name: names.database,
      ...(config.d1LocationHint ? { primaryLocationHint: config.d1LocationHint } : {}),
    },
    // The hint only places a new database; changing it later must not replace a live one.
    { ...durable, ignoreChanges: ["primaryLocationHint"] },
  );

  // Before the script: the new version must never meet a database without its migrations (it
  // would fail closed). Not protected: it holds nothing, and deleting it undoes nothing. Only a
  // new database replaces it, and delete-first is harmless: its delete is a no-op, and the script
  // depends on it by `dependsOn` alone (no input of the script reads it), so the engine neither
  // replaces nor deletes the script with it, it only orders the script's update after it.
  const migrations = new D1Migrations(
    "migrations",
    { accountId, databaseId: database.uuid, apiToken: cloudflareApiToken() },
    { ...replaceable, dependsOn: [database] },
  );

  const script = new cloudflare.WorkersScript(
    "worker",
    {
      accountId,
      scriptName: names.script,
      mainModule: bundle.mainModule,
      contentFile: contentFile(bundle),
      contentSha256: bundle.sha256,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: DEPLOYED_COMPATIBILITY_FLAGS,
      bindings: scriptBindings(config, names, database.uuid),
      // The limiter's class, created with SQLite storage (Cloudflare's default for new classes).
      ...(limitsBackend(config)
        ? { migrations: { newTag: LIMITER.tag, newSqliteClasses: [LIMITER.className] } }
        : {}),
      observability: { enabled: true, headSamplingRate: config.logSamplingPercent / 100 },
    },
    { ...durable, dependsOn: [recoveryQueue, deadLetterQueue, database, migrations] },
  );
  const afterScript = { ...replaceable, dependsOn: [script] };

  const workflows = WORKFLOW_KINDS.map(
    (kind) =>
      new cloudflare.Workflow(
        `workflow-${kind}`,
        {
          accountId,
          workflowName: names.workflow(kind),
          className: WORKFLOWS[kind].className,
          scriptName: names.script,
          concurrency: { limit: config.workflowConcurrency },
          // Instance state lives as long as the event records that point at it, within the cap.
          defaultRetention: {
            successRetention: instanceRetentionMs(config.retentionDays),
            errorRetention: instanceRetentionMs(config.retentionDays),
          },
        },
        { ...durable, dependsOn: [script] },
      ),
  );
  new cloudflare.QueueConsumer(
    "recovery-consumer",
    {
      accountId,
      queueId: recoveryQueue.queueId,
      scriptName: names.script,
      type: "worker",
      deadLetterQueue: names.deadLetterQueue,
      settings: consumerSettings(QUEUES.recovery.consumer),
    },
    afterScript,
  );
  new cloudflare.QueueConsumer(
    "dead-letter-consumer",
    {
      accountId,
      queueId: deadLetterQueue.queueId,
      scriptName: names.script,
      type: "worker",
      settings: consumerSettings(QUEUES.deadLetter.consumer),
    },
    afterScript,
  );
  new cloudflare.WorkersCronTrigger(
    "retention-cron",
    { accountId, scriptName: names.script, schedules: [{ cron: RECONCILER.cron }, { cron: RETENTION.cron }] },
    afterScript,
  );
  new cloudflare.WorkersScriptSubdomain(
    "workers-dev",
    { accountId, scriptName: names.script, enabled: config.workersDev, previewsEnabled: false },
    afterScript,
  );
  if (config.customDomain) {
    new cloudflare.WorkersCustomDomain(
      "custom-domain",
      { accountId, hostname: config.customDomain, service: names.script, zoneId: config.zoneId },
      afterScript,
    );
  }

  return {
    workerUrl: pulumi.output(workerUrl(config, names)),
    scriptName: script.scriptName,
    bundleSha256: script.contentSha256,
    recoveryQueue: recoveryQueue.queueName,
    deadLetterQueue: deadLetterQueue.queueName,
    databaseId: database.uuid,
    migrations: migrations.applied.apply((applied) => (applied ?? []).map((m) => m.name)),
    workflows: pulumi.all(workflows.map((w) => w.workflowName)),
  };
}
