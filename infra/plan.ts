import { parseArgs } from "node:util";
import { QUEUES } from "../worker/src/topology.ts";
import { type RecordedResource, runUnderMocks, stackFileConfig, unwrap } from "./mocks.ts";
import { duration, retryTimeline } from "./timeline.ts";

/**
 * `npm run plan -- --stack prod`: what `pulumi up` would declare for a stack, computed offline
 * from its stack file under Pulumi's mocks, so a reviewer needs no cloud credentials.
 */
const { values } = parseArgs({ options: { stack: { type: "string", default: "dev" } } });
const stack = values.stack ?? "dev";
const file = await stackFileConfig(stack);
/** Values only the user knows; the offline plan stands in for them and says so. */
const PLACEHOLDERS: Record<string, string> = {
  accountId: "0".repeat(32),
  backendUrl: "https://backend-url-not-set.plan",
  authToken: "[secret authToken]",
  operatorToken: "[secret operatorToken]",
};
// A route too: prod serves on a custom domain, the others on workers.dev.
if (file.values.workersDev === "false")
  Object.assign(PLACEHOLDERS, { customDomain: "jobs.domain-not-set.plan", zoneId: "0".repeat(32) });
else if (!file.values.customDomain) PLACEHOLDERS.workersDevSubdomain = "subdomain-not-set";
const placeholders = Object.keys(PLACEHOLDERS).filter((key) => !(key in file.values));
const config = { ...file.values, ...Object.fromEntries(placeholders.map((k) => [k, PLACEHOLDERS[k] ?? ""])) };
const run = await runUnderMocks(stack, config, [...file.secrets, "authToken", "operatorToken"]);

const short = (type: string) => type.split(":").at(-1) ?? type;
const settings = (r: RecordedResource): string => {
  // biome-ignore lint/suspicious/noExplicitAny: provider inputs are plain JSON of many shapes; this only prints them.
  const i = unwrap(r.inputs) as Record<string, any>;
  switch (short(r.type)) {
    case "Queue":
      return `queue ${i.queueName}`;
    case "D1Database":
      return `database ${i.name}, primary ${i.primaryLocationHint ?? "placed by Cloudflare"}`;
    case "WorkersScript":
      return [
        `script ${i.scriptName}, main module ${i.mainModule}, ${i.contentFile} sha256 ${String(i.contentSha256).slice(0, 12)}…`,
        `compatibility ${i.compatibilityDate} [${(i.compatibilityFlags ?? []).join(", ")}]`,
        `bindings: ${bindingList(i.bindings)}`,
        `log sampling ${(i.observability?.headSamplingRate ?? 1) * 100}%`,
      ].join("\n      ");
    case "Workflow":
      return `workflow ${i.workflowName} → class ${i.className}, ${i.concurrency?.limit} at once, instances kept ${duration((i.defaultRetention?.successRetention ?? 0) / 1000)}`;
    case "QueueConsumer": {
      const s = i.settings ?? {};
      const dlq = i.deadLetterQueue ? `, dead letters → ${i.deadLetterQueue}` : "";
      return `consumer of ${i.queueId}: batch ${s.batchSize}, wait ${s.maxWaitTimeMs} ms, max_retries ${s.maxRetries}, retry delay ${s.retryDelay} s${dlq}`;
    }
    case "Migrations":
      return `D1 migrations, applied in order before the script: ${(i.migrations ?? [])
        .map((m: { name: string; sha256: string }) => `${m.name} (sha256 ${m.sha256.slice(0, 12)}…)`)
        .join(", ")}`;
    case "WorkersCronTrigger":
      return `cron ${(i.schedules ?? []).map((s: { cron: string }) => s.cron).join(", ")}`;
    case "WorkersScriptSubdomain":
      return `workers.dev ${i.enabled ? "enabled" : "disabled"}`;
    case "WorkersCustomDomain":
      return `custom domain ${i.hostname} (zone ${i.zoneId})`;
    default:
      return "";
  }
};

interface PlannedBinding {
  type: string;
  name: string;
  text?: unknown;
  simple?: { limit: number; period: number };
  namespaceId?: string;
}

/** Plain values are shown; secrets by name only. */
function bindingList(bindings: PlannedBinding[] = []): string {
  return bindings
    .map((b) => {
      if (b.type === "plain_text") return `${b.name}=${String(b.text)}`;
      if (b.simple)
        return `${b.name} (${b.type} namespace ${b.namespaceId}, ${b.simple.limit}/${b.simple.period}s)`;
      return `${b.name} (${b.type})`;
    })
    .join(", ");
}

function options(r: RecordedResource): string {
  const flags = [
    r.protect && "protected",
    r.deleteBeforeReplace && "replaced delete-first",
    r.ignoreChanges.length > 0 && `ignores changes to ${r.ignoreChanges.join(", ")}`,
  ].filter(Boolean);
  return flags.length ? ` [${flags.join("; ")}]` : "";
}

const timeline = retryTimeline();
const lines = [
  `Stack ${stack}: ${run.resources.length} resources (offline plan under Pulumi mocks)`,
  `Bundle ${run.contentFile} (as the provider opens it from ${run.programDirectory}): ${(run.bundle.bytes / 1024).toFixed(1)} KiB, sha256 ${run.bundle.sha256}`,
  ...(placeholders.length
    ? [`Note: ${placeholders.join(", ")} not set in Pulumi.${stack}.yaml; a placeholder was used.`]
    : []),
  "",
  ...run.resources.map(
    (r) => `  ${short(r.type).padEnd(22)} ${r.name.padEnd(20)}${options(r)}\n      ${settings(r)}`,
  ),
  "",
  "Retry timeline (per event):",
  `  1. workflow step: ${timeline.stepDelaysSeconds.length + 1} attempts, waits ${timeline.stepDelaysSeconds.map(duration).join(", ")} (exponential)`,
  `  2. recovery queue ${QUEUES.recovery.name}-${stack}: ${timeline.queueDelaysSeconds.length} deliveries after ${timeline.queueDelaysSeconds.map(duration).join(", ")}`,
  `  3. dead letter ${QUEUES.deadLetter.name}-${stack}: kept as dead in D1, replayable`,
  `  horizon: about ${duration(timeline.horizonSeconds)} from the first call to dead (backend call times not counted)`,
  "",
  "Outputs:",
  ...Object.entries(run.outputs).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
];
console.log(lines.join("\n"));
