import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { expectedBindingNames } from "../../infra/bindings.ts";
import { CONFIG_KEYS, DEFAULT_WORKFLOW_CONCURRENCY, defaultRateLimitNamespace } from "../../infra/config.ts";
import { isWrappedSecret, type MockRun, runUnderMocks, stackFileConfig, unwrap } from "../../infra/mocks.ts";
import { stackNames } from "../../infra/names.ts";
import { retryTimeline } from "../../infra/timeline.ts";
import { type Bundle, bundleWorker } from "../../worker/build.ts";
import { PLATFORM_FAULTS_BINDING, PLATFORM_FAULTS_PATH } from "../../worker/local/faults/config.ts";
import {
  COMPATIBILITY_DATE,
  COMPATIBILITY_FLAGS,
  LOCAL_ONLY_VARS,
  QUEUES,
  RECONCILER,
  RETENTION,
  WORKFLOW_KINDS,
  WORKFLOWS,
} from "../../worker/src/topology.ts";

const root = join(import.meta.dirname, "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: resource inputs of many shapes, read by field name.
type Inputs = Record<string, any>;
const STACKS = ["dev", "staging", "prod"] as const;
/** What each user sets with `pulumi config set` before a first preview: nothing a stack file can hold. */
const ACCOUNT_ID = "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b";
const ZONE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const userConfig = (stack: string): Record<string, string> => ({
  accountId: ACCOUNT_ID,
  backendUrl: `https://api.${stack}.acme-jobs.dev`,
  ...(stack === "prod"
    ? { customDomain: "jobs.acme-jobs.dev", zoneId: ZONE_ID }
    : { workersDevSubdomain: "acme-jobs" }),
});
const tokens = (stack: string) => ({
  authToken: `auth-${stack}-0f9e8d7c6b5a`,
  operatorToken: `operator-${stack}-7a6b5c4d3e`,
  backendToken: `backend-${stack}-1a2b3c4d5e`,
  signingSecret: `signing-${stack}-9e8d7c6b5a4f`,
});

/** Every config key that holds a secret. */
const SECRET_KEYS = [
  "authToken",
  "authTokenNext",
  "backendToken",
  "signingSecret",
  "operatorToken",
  "operatorTokenNext",
  "alertWebhookUrl",
];

let bundle: Bundle;
beforeAll(async () => {
  bundle = await bundleWorker(await mkdtemp(join(tmpdir(), "jobs-bundle-")));
});

/** A stack as its file declares it, with its secrets set the way `pulumi config set --secret` would. */
async function runStack(stack: string, change: (config: Record<string, string>) => void = () => {}) {
  const { values } = await stackFileConfig(stack);
  const config: Record<string, string> = {
    ...values,
    ...userConfig(stack),
    authToken: tokens(stack).authToken,
    operatorToken: tokens(stack).operatorToken,
  };
  if (stack === "prod") Object.assign(config, tokens(stack));
  change(config);
  return runUnderMocks(stack, config, SECRET_KEYS, bundle);
}

const ofType = (run: MockRun, type: string) =>
  run.resources.filter((r) => r.type === `cloudflare:index/${type}`);
const inputs = (run: MockRun, type: string) => ofType(run, type).map((r) => unwrap(r.inputs) as Inputs);

describe.each(STACKS)("stack %s", (stack) => {
  let run: MockRun;
  const names = stackNames(stack);
  beforeAll(async () => {
    run = await runStack(stack);
  });

  it("declares every resource once, named for the stack", () => {
    const count = (type: string) => ofType(run, type).length;
    expect(count("queue:Queue")).toBe(2);
    expect(count("d1Database:D1Database")).toBe(1);
    expect(count("workersScript:WorkersScript")).toBe(1);
    expect(count("workflow:Workflow")).toBe(4);
    expect(count("queueConsumer:QueueConsumer")).toBe(2);
    expect(count("workersCronTrigger:WorkersCronTrigger")).toBe(1);
    expect(count("workersScriptSubdomain:WorkersScriptSubdomain")).toBe(1);
    expect(count("workersCustomDomain:WorkersCustomDomain")).toBe(stack === "prod" ? 1 : 0);
    expect(new Set(run.resources.map((r) => r.name)).size).toBe(run.resources.length);

    expect(
      inputs(run, "queue:Queue")
        .map((q) => q.queueName)
        .sort(),
    ).toEqual([names.deadLetterQueue, names.recoveryQueue].sort());
    expect(inputs(run, "d1Database:D1Database")[0]?.name).toBe(`jobs-${stack}`);
    expect(inputs(run, "workflow:Workflow").map((w) => [w.workflowName, w.className, w.scriptName])).toEqual(
      WORKFLOW_KINDS.map((kind) => [
        `${WORKFLOWS[kind].name}-${stack}`,
        WORKFLOWS[kind].className,
        `jobs-${stack}`,
      ]),
    );
    expect(inputs(run, "workersCronTrigger:WorkersCronTrigger")[0]?.schedules).toEqual([
      { cron: RECONCILER.cron },
      { cron: RETENTION.cron },
    ]);
    for (const r of run.resources) expect(unwrap(r.inputs)).toMatchObject({ accountId: ACCOUNT_ID });
  });

  it("sets every consumer field from the topology", () => {
    const [recovery, deadLetter] = ["recovery-consumer", "dead-letter-consumer"].map(
      (name) => unwrap(run.resources.find((r) => r.name === name)?.inputs) as Inputs,
    );
    const expected = (c: (typeof QUEUES)[keyof typeof QUEUES]["consumer"]) => ({
      batchSize: c.maxBatchSize,
      maxRetries: c.maxRetries,
      maxWaitTimeMs: c.maxBatchTimeoutSeconds * 1000,
      retryDelay: c.retryDelaySeconds,
    });
    expect(recovery).toMatchObject({
      type: "worker",
      scriptName: names.script,
      queueId: "recovery-queue-id",
      deadLetterQueue: names.deadLetterQueue,
      settings: expected(QUEUES.recovery.consumer),
    });
    expect(recovery?.settings).toEqual({
      batchSize: 10,
      maxRetries: 10,
      maxWaitTimeMs: 30_000,
      retryDelay: 60,
    });
    expect(deadLetter).toMatchObject({
      queueId: "dead-letter-queue-id",
      settings: expected(QUEUES.deadLetter.consumer),
    });
    expect(deadLetter?.deadLetterQueue).toBeUndefined();
  });

  it("binds exactly what the worker's Env needs", () => {
    const script = inputs(run, "workersScript:WorkersScript")[0] as {
      bindings: { name: string; type: string }[];
    };
    const bound = script.bindings.map((b) => b.name).sort();
    const expected = [
      ...expectedBindingNames(),
      ...(stack === "prod" ? ["BACKEND_TOKEN", "SIGNING_SECRET"] : []),
    ].sort();
    expect(bound).toEqual(expected);
    expect(script.bindings.find((b) => b.name === "DB")).toMatchObject({
      type: "d1",
      id: run.outputs.databaseId,
    });
  });

  it("never binds a local-only knob: RETRY_DELAY_SCALE, PLATFORM_FAULTS", () => {
    const bound = (inputs(run, "workersScript:WorkersScript")[0]?.bindings ?? []) as Inputs[];
    const names = bound.map((b) => b.name as string);
    expect(names.length).toBeGreaterThan(0);
    for (const name of [...LOCAL_ONLY_VARS, PLATFORM_FAULTS_BINDING]) expect(names).not.toContain(name);
    expect(names).not.toContain("RETRY_DELAY_SCALE");
    expect(names).not.toContain("PLATFORM_FAULTS");
  });

  it("uploads the bundle as an ES module whose exports include every Workflow class", () => {
    const script = inputs(run, "workersScript:WorkersScript")[0];
    expect(script).toMatchObject({ mainModule: "worker.js", contentSha256: bundle.sha256 });
    expect(bundle.exports).toEqual(
      expect.arrayContaining(["default", ...Object.values(WORKFLOWS).map((w) => w.className)]),
    );
    for (const w of inputs(run, "workflow:Workflow")) expect(bundle.exports).toContain(w.className);
  });

  it("keeps secrets secret and out of the outputs", async () => {
    const script = ofType(run, "workersScript:WorkersScript")[0];
    expect(isWrappedSecret(script?.inputs.bindings)).toBe(true);
    const secrets = Object.values(tokens(stack));
    const outputs = JSON.stringify(run.outputs);
    for (const secret of secrets) expect(outputs).not.toContain(secret);
    for (const resource of run.resources.filter((r) => r !== script)) {
      for (const secret of secrets) expect(JSON.stringify(unwrap(resource.inputs))).not.toContain(secret);
    }
    for (const output of Object.values(run.rawOutputs))
      expect(await pulumi.isSecret(output as pulumi.Output<unknown>)).toBe(false);
  });

  it("names a content file that exists where the provider opens it and hashes to contentSha256", async () => {
    const script = inputs(run, "workersScript:WorkersScript")[0] as {
      contentFile: string;
      contentSha256: string;
    };
    // The provider runs where the CLI runs the program: Pulumi.yaml's `main`, not the repository root.
    expect(run.programDirectory).toBe("infra");
    const opened = await readFile(resolve(root, run.programDirectory, script.contentFile));
    expect(createHash("sha256").update(opened).digest("hex")).toBe(script.contentSha256);
  });

  it(
    stack === "prod"
      ? "protects D1, both queues, the script and the Workflows"
      : "leaves resources deletable in a non-production stack",
    () => {
      const protectedNames = run.resources
        .filter((r) => r.protect)
        .map((r) => r.name)
        .sort();
      const durable = ["database", "dead-letter-queue", "recovery-queue", "worker"];
      const workflows = WORKFLOW_KINDS.map((kind) => `workflow-${kind}`);
      expect(protectedNames).toEqual(stack === "prod" ? [...durable, ...workflows].sort() : []);
    },
  );

  it("replaces every name-keyed resource delete-first, and never replaces D1 for a location hint", () => {
    // Create-then-delete would write the new resource under the live name, then delete it.
    for (const r of run.resources) expect(r.deleteBeforeReplace, r.name).toBe(true);
    expect(run.resources.find((r) => r.name === "database")?.ignoreChanges).toEqual(["primaryLocationHint"]);
  });

  it("uploads no compatibility flag that is already a default at the compatibility date", () => {
    const script = inputs(run, "workersScript:WorkersScript")[0] as { compatibilityFlags: string[] };
    for (const { flag, defaultFrom } of COMPATIBILITY_FLAGS)
      expect(script.compatibilityFlags.includes(flag), flag).toBe(defaultFrom > COMPATIBILITY_DATE);
    expect(script.compatibilityFlags).toEqual([]);
  });

  it("gives each Workflow the stack's concurrency limit and the retention of its records", () => {
    const retentionDays = stack === "dev" ? 3 : RETENTION.defaultDays;
    const concurrency = stack === "staging" ? 50 : DEFAULT_WORKFLOW_CONCURRENCY;
    for (const w of inputs(run, "workflow:Workflow")) {
      expect(w.concurrency).toEqual({ limit: concurrency });
      expect(w.defaultRetention).toEqual({
        successRetention: retentionDays * 86_400_000,
        errorRetention: retentionDays * 86_400_000,
      });
    }
  });
});

describe("stack config", () => {
  it.each([
    [
      "accountId",
      /Missing required config "accountId" for stack "dev"\. Set it with: pulumi config set accountId <cloudflare-account-id> --stack dev/,
    ],
    ["backendUrl", /pulumi config set backendUrl https:\/\/<backend-host> --stack dev/],
    [
      "authToken",
      /Missing required config "authToken".*pulumi config set --secret authToken <token> --stack dev/,
    ],
  ])("says how to fix a missing %s", async (key, message) => {
    await expect(runStack("dev", (c) => delete c[key])).rejects.toThrow(message);
  });

  it.each([
    ["ratePeriod", "30", /Workers rate limits allow 10 or 60 seconds/],
    ["backendUrl", "http://plain.acme-jobs.dev", /expected an https:\/\/ URL/],
    ["workersDev", "yes", /expected true or false/],
    ["logSamplingPercent", "150", /from 0 to 100/],
    ["tenantRateLimit", "601", /cannot exceed rateLimit/],
  ])("rejects an invalid %s", async (key, value, message) => {
    await expect(runStack("dev", (c) => (c[key] = value))).rejects.toThrow(message);
  });

  it.each([
    ["accountId", "0123456789abcdef", /32-character hex id/],
    ["backendUrl", "https://api.example.com", /reserved example host/],
    ["backendUrl", "https://backend.test", /reserved example host/],
    ["d1LocationHint", "mars", /one of wnam, enam, weur, eeur, apac, oc/],
    ["workflowConcurrency", "2.5", /whole number/],
    ["rateLimitNamespaceId", "-4", /whole number/],
  ])("rejects a placeholder or invalid %s (%s)", async (key, value, message) => {
    await expect(runStack("dev", (c) => (c[key] = value))).rejects.toThrow(message);
  });

  it("refuses to preview a stack file alone: the account and backend must be set by the user", async () => {
    for (const stack of STACKS) {
      const { values } = await stackFileConfig(stack);
      const text = await readFile(join(root, `Pulumi.${stack}.yaml`), "utf8");
      expect(text).not.toMatch(/example\.(com|org|net)|0123456789abcdef|fedcba9876543210/);
      await expect(
        runUnderMocks(stack, { ...values, authToken: "t" }, ["authToken"], bundle),
      ).rejects.toThrow(/Missing required config "accountId"/);
    }
  });

  it("gives every stack its own rate-limit namespaces, overridable in stack config", async () => {
    const namespaces = async (stack: string, change?: (c: Record<string, string>) => void) => {
      const run = await runStack(stack, change);
      const bindings = (inputs(run, "workersScript:WorkersScript")[0]?.bindings ?? []) as Inputs[];
      return bindings.filter((b) => b.type === "ratelimit").map((b) => b.namespaceId as string);
    };
    const all: string[][] = [];
    for (const stack of STACKS) all.push(await namespaces(stack)); // Mocks are global: one run at a time.
    for (const [i, stack] of STACKS.entries()) {
      const base = defaultRateLimitNamespace(stack);
      expect(all[i]).toEqual([String(base), String(base + 1)]);
    }
    const flat = all.flat();
    expect(new Set(flat).size).toBe(flat.length);
    expect(flat).not.toContain("1001");
    expect(await namespaces("dev", (c) => (c.rateLimitNamespaceId = "424242"))).toEqual(["424242", "424243"]);
  });

  it("places D1's primary where the stack says", async () => {
    const run = await runStack("prod", (c) => (c.d1LocationHint = "weur"));
    expect(inputs(run, "d1Database:D1Database")[0]?.primaryLocationHint).toBe("weur");
    const unset = await runStack("dev");
    expect(inputs(unset, "d1Database:D1Database")[0]).not.toHaveProperty("primaryLocationHint");
  });

  it("needs a route the deploy can reach, known before anything changes", async () => {
    await expect(runStack("dev", (c) => delete c.workersDevSubdomain)).rejects.toThrow(
      /Missing required config "workersDevSubdomain".*pulumi config set workersDevSubdomain/,
    );
    await expect(runStack("dev", (c) => (c.workersDev = "false"))).rejects.toThrow(/would have no route/);
    await expect(runStack("dev", (c) => (c.workersDevSubdomain = "Acme Corp"))).rejects.toThrow(
      /workers\.dev subdomain/,
    );
    const run = await runStack("dev");
    expect(run.outputs.workerUrl).toBe("https://jobs-dev.acme-jobs.workers.dev");
  });

  it("keeps Workflow instances no longer than Cloudflare allows", async () => {
    const run = await runStack("dev", (c) => (c.retentionDays = "90"));
    for (const w of inputs(run, "workflow:Workflow"))
      expect(w.defaultRetention).toEqual({
        successRetention: 30 * 86_400_000,
        errorRetention: 30 * 86_400_000,
      });
  });

  it("needs a zone for a custom domain", async () => {
    await expect(runStack("dev", (c) => (c.customDomain = "jobs.acme-jobs.dev"))).rejects.toThrow(/"zoneId"/);
  });

  it("binds the next dispatch token only while a rotation sets it", async () => {
    const run = await runStack("dev", (c) => (c.authTokenNext = "next-token-for-rotation"));
    const bindings = (inputs(run, "workersScript:WorkersScript")[0]?.bindings ?? []) as Inputs[];
    expect(bindings.find((b) => b.name === "AUTH_TOKEN_NEXT")).toMatchObject({ type: "secret_text" });
    expect(JSON.stringify(run.outputs)).not.toContain("next-token-for-rotation");
  });

  it("applies per-stack values to bindings", async () => {
    const run = await runStack("dev", (c) =>
      Object.assign(c, { rateLimit: "50", tenantRateLimit: "20", ratePeriod: "10", retentionDays: "30" }),
    );
    const bindings = (inputs(run, "workersScript:WorkersScript")[0]?.bindings ?? []) as Inputs[];
    expect(bindings.filter((b) => b.type === "ratelimit").map((b) => [b.name, b.simple])).toEqual([
      ["DISPATCH_RATE_LIMIT", { limit: 50, period: 10 }],
      ["TENANT_RATE_LIMIT", { limit: 20, period: 10 }],
    ]);
    expect(bindings.find((b) => b.name === "RATE_LIMIT_PERIOD")?.text).toBe("10");
    expect(bindings.find((b) => b.name === "RETENTION_DAYS")?.text).toBe("30");
  });

  it("documents every plain key in Pulumi.yaml with a description, and a default when optional", async () => {
    const project = parse(await readFile(join(root, "Pulumi.yaml"), "utf8")) as {
      main: string;
      config: Record<string, { description?: string; default?: unknown }>;
      runtime: { name: string };
    };
    expect(project).toMatchObject({ main: "infra/", runtime: { name: "nodejs" } });
    const secrets = SECRET_KEYS;
    const required = ["accountId", "backendUrl"];
    expect(Object.keys(project.config).sort()).toEqual(
      Object.keys(CONFIG_KEYS)
        .filter((k) => !secrets.includes(k))
        .sort(),
    );
    for (const [key, entry] of Object.entries(project.config)) {
      expect(entry.description, key).toBeTruthy();
      if (!required.includes(key)) expect(entry, key).toHaveProperty("default");
    }
  });
});

describe("bundle hash", () => {
  it("is the SHA-256 of the uploaded file and the same for the same sources", async () => {
    const again = await bundleWorker(await mkdtemp(join(tmpdir(), "jobs-bundle-")));
    expect(again.sha256).toBe(bundle.sha256);
    expect(
      createHash("sha256")
        .update(await readFile(bundle.path))
        .digest("hex"),
    ).toBe(bundle.sha256);
  });

  it("ships no platform-fault path: the uploaded bundle never names PLATFORM_FAULTS or its route", async () => {
    const shipped = await readFile(bundle.path, "utf8");
    expect(shipped).not.toContain(PLATFORM_FAULTS_BINDING);
    expect(shipped).not.toContain(PLATFORM_FAULTS_PATH);
    expect(shipped).not.toContain("PLATFORM_FAULTS");
    expect(shipped).not.toContain("__platform-faults");
  });

  it("changes the script's inputs when and only when the bundle changes", async () => {
    const { values } = await stackFileConfig("dev");
    const config = { ...values, ...userConfig("dev"), authToken: "t", operatorToken: "o" };
    const hash = async (b: Bundle) =>
      unwrap(
        (await runUnderMocks("dev", config, ["authToken", "operatorToken"], b)).resources.find(
          (r) => r.name === "worker",
        )?.inputs,
      ) as Record<string, unknown>;
    const same = await hash(bundle);
    const rebuilt = await hash(await bundleWorker(dirname(bundle.path)));
    const changed = await hash({ ...bundle, sha256: "0".repeat(64) });
    expect(rebuilt).toEqual(same);
    expect(changed.contentSha256).not.toBe(same.contentSha256);
    expect({ ...changed, contentSha256: same.contentSha256 }).toEqual(same);
  });
});

describe("retry timeline", () => {
  it("matches the contract: 4 attempts, then 11 queue deliveries, about ten hours to dead", () => {
    const timeline = retryTimeline();
    expect(timeline.stepDelaysSeconds).toEqual([1, 2, 4]);
    expect(timeline.queueDelaysSeconds).toEqual([60, 60, 300, 900, 1800, 2700, 3600, 5400, 7200, 7200, 7200]);
    expect(timeline.horizonSeconds).toBe(7 + 36_420);
  });
});

describe("npm run plan", () => {
  it("shows prod's protections, replacement options and its own rate-limit namespaces", async () => {
    const { execFile } = await import("node:child_process");
    const script = JSON.parse(await readFile(join(root, "package.json"), "utf8")).scripts.plan as string;
    const output = await new Promise<string>((resolve, reject) =>
      execFile("sh", ["-c", `${script} --stack prod`], { cwd: root }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const base = defaultRateLimitNamespace("prod");
    expect(output).toMatch(/WorkersScript\s+worker\s+\[protected; replaced delete-first\]/);
    expect(output).toMatch(/Workflow\s+workflow-payment\s+\[protected; replaced delete-first\]/);
    expect(output).toMatch(/Queue\s+recovery-queue\s+\[protected; replaced delete-first\]/);
    expect(output).toContain(`DISPATCH_RATE_LIMIT (ratelimit namespace ${base}, 1200/60s)`);
    expect(output).toContain(`TENANT_RATE_LIMIT (ratelimit namespace ${base + 1}, 150/60s)`);
    expect(output).toContain("Bundle ../dist/worker.js (as the provider opens it from infra)");
    expect(output).toMatch(
      /Note: accountId, backendUrl, authToken, operatorToken, customDomain, zoneId not set/,
    );
  }, 60_000);
});
