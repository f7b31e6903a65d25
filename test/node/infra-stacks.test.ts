import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { expectedBindingNames } from "../../infra/bindings.ts";
import { DEFAULT_WORKFLOW_CONCURRENCY } from "../../infra/config.ts";
import { isWrappedSecret, type MockRun, unwrap } from "../../infra/mocks.ts";
import { stackNames } from "../../infra/names.ts";
import { PLATFORM_FAULTS_BINDING } from "../../worker/local/faults/config.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "../../worker/src/compatibility.ts";
import {
  LOCAL_ONLY_VARS,
  QUEUES,
  RECONCILER,
  RETENTION,
  WORKFLOW_KINDS,
  WORKFLOWS,
} from "../../worker/src/topology.ts";
import {
  ACCOUNT_ID,
  buildBundle,
  bundle,
  type Inputs,
  inputs,
  ofType,
  root,
  runStack,
  STACKS,
  tokens,
} from "./infra-setup.ts";

beforeAll(buildBundle);

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
