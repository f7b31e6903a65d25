import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { expectedBindingNames } from "../../infra/bindings.ts";
import { CONFIG_KEYS } from "../../infra/config.ts";
import { isWrappedSecret, type MockRun, runUnderMocks, stackFileConfig, unwrap } from "../../infra/mocks.ts";
import { stackNames } from "../../infra/names.ts";
import { retryTimeline } from "../../infra/timeline.ts";
import { type Bundle, bundleWorker } from "../../worker/build.ts";
import { QUEUES, RETENTION, WORKFLOW_KINDS, WORKFLOWS } from "../../worker/src/topology.ts";

const root = join(import.meta.dirname, "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: resource inputs of many shapes, read by field name.
type Inputs = Record<string, any>;
const STACKS = ["dev", "staging", "prod"] as const;
const tokens = (stack: string) => ({
  authToken: `auth-${stack}-0f9e8d7c6b5a`,
  backendToken: `backend-${stack}-1a2b3c4d5e`,
  signingSecret: `signing-${stack}-9e8d7c6b5a4f`,
});

let bundle: Bundle;
beforeAll(async () => {
  bundle = await bundleWorker(await mkdtemp(join(tmpdir(), "jobs-bundle-")));
});

/** A stack as its file declares it, with its secrets set the way `pulumi config set --secret` would. */
async function runStack(stack: string, change: (config: Record<string, string>) => void = () => {}) {
  const { values } = await stackFileConfig(stack);
  const config: Record<string, string> = { ...values, authToken: tokens(stack).authToken };
  if (stack === "prod") Object.assign(config, tokens(stack));
  change(config);
  return runUnderMocks(
    stack,
    config,
    ["authToken", "authTokenNext", "backendToken", "signingSecret"],
    bundle,
  );
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
      { cron: RETENTION.cron },
    ]);
    for (const r of run.resources)
      expect(unwrap(r.inputs)).toMatchObject({ accountId: "0123456789abcdef0123456789abcdef" });
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

  it("uploads the bundle as an ES module whose exports include every Workflow class", () => {
    const script = inputs(run, "workersScript:WorkersScript")[0];
    expect(script).toMatchObject({
      mainModule: "worker.js",
      contentSha256: bundle.sha256,
      contentFile: bundle.relativePath,
    });
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

  it(stack === "prod" ? "protects the database and the dead-letter queue" : "leaves data unprotected", () => {
    const protectedNames = run.resources
      .filter((r) => r.protect)
      .map((r) => r.name)
      .sort();
    expect(protectedNames).toEqual(stack === "prod" ? ["database", "dead-letter-queue"] : []);
  });
});

describe("stack config", () => {
  it.each([
    [
      "accountId",
      /Missing required config "accountId" for stack "dev"\. Set it with: pulumi config set accountId <cloudflare-account-id> --stack dev/,
    ],
    ["backendUrl", /pulumi config set backendUrl https:\/\/api\.example\.com --stack dev/],
    [
      "authToken",
      /Missing required config "authToken".*pulumi config set --secret authToken <token> --stack dev/,
    ],
  ])("says how to fix a missing %s", async (key, message) => {
    await expect(runStack("dev", (c) => delete c[key])).rejects.toThrow(message);
  });

  it.each([
    ["ratePeriod", "30", /Workers rate limits allow 10 or 60 seconds/],
    ["backendUrl", "http://plain.example.com", /expected an https:\/\/ URL/],
    ["workersDev", "yes", /expected true or false/],
    ["logSamplingPercent", "150", /from 0 to 100/],
    ["tenantRateLimit", "601", /cannot exceed rateLimit/],
  ])("rejects an invalid %s", async (key, value, message) => {
    await expect(runStack("dev", (c) => (c[key] = value))).rejects.toThrow(message);
  });

  it("needs a zone for a custom domain", async () => {
    await expect(runStack("dev", (c) => (c.customDomain = "jobs.example.org"))).rejects.toThrow(/"zoneId"/);
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
    const secrets = ["authToken", "authTokenNext", "backendToken", "signingSecret"];
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

  it("changes the script's inputs when and only when the bundle changes", async () => {
    const { values } = await stackFileConfig("dev");
    const config = { ...values, authToken: "t" };
    const hash = async (b: Bundle) =>
      unwrap(
        (await runUnderMocks("dev", config, ["authToken"], b)).resources.find((r) => r.name === "worker")
          ?.inputs,
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

describe("CI workflows", () => {
  const files = ["ci.yml", "preview.yml", "deploy.yml"];
  it.each(files)("%s is valid, least-privilege, with actions pinned to commits", async (file) => {
    const text = await readFile(join(root, ".github", "workflows", file), "utf8");
    const workflow = parse(text) as {
      on: unknown;
      permissions: Record<string, string>;
      jobs: Inputs;
    };
    expect(workflow.on).toBeTruthy();
    expect(workflow.permissions).toBeTruthy();
    expect(Object.values(workflow.permissions).every((p) => p === "read" || p === "none")).toBe(true);
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
    for (const job of Object.values(workflow.jobs)) {
      expect(job["runs-on"]).toBeTruthy();
      for (const step of job.steps) {
        if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      }
    }
  });
});

describe("deployment flow", () => {
  const load = async (file: string) =>
    parse(await readFile(join(root, ".github", "workflows", file), "utf8")) as Inputs;
  /** A GitHub Actions expression, as the workflow file spells it. */
  const gh = (expression: string) => `\u0024{{ ${expression} }}`;
  const pulumiStep = (job: Inputs) =>
    job.steps.find((s: Inputs) => String(s.uses).startsWith("pulumi/actions@"));

  it("previews every stack on pull requests and comments the result", async () => {
    const preview = await load("preview.yml");
    expect(preview.on).toHaveProperty("pull_request");
    expect(preview.jobs.preview.strategy.matrix.stack).toEqual([...STACKS]);
    expect(preview.jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(pulumiStep(preview.jobs.preview).with).toMatchObject({
      command: "preview",
      "comment-on-pr": true,
    });
  });

  it("deploys staging on merge and production only after it, behind an approval environment", async () => {
    const deploy = await load("deploy.yml");
    expect(deploy.on.push.branches).toEqual(["main"]);
    expect(deploy.jobs.staging).toMatchObject({ needs: "test", environment: "staging" });
    expect(deploy.jobs.production).toMatchObject({ needs: "staging", environment: "production" });
    expect(pulumiStep(deploy.jobs.staging).with).toMatchObject({
      command: "up",
      "stack-name": `${gh("vars.PULUMI_ORG")}/staging`,
    });
    expect(pulumiStep(deploy.jobs.production).with).toMatchObject({
      command: "up",
      "stack-name": `${gh("vars.PULUMI_ORG")}/prod`,
    });
    for (const job of [deploy.jobs.staging, deploy.jobs.production]) {
      expect(pulumiStep(job).env).toEqual({
        PULUMI_ACCESS_TOKEN: `${gh("secrets.PULUMI_ACCESS_TOKEN")}`,
        CLOUDFLARE_API_TOKEN: `${gh("secrets.CLOUDFLARE_API_TOKEN")}`,
      });
    }
  });
});
