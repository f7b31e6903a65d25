import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KEYS, defaultRateLimitNamespace } from "../../infra/config.ts";
import { runUnderMocks, stackFileConfig } from "../../infra/mocks.ts";
import {
  buildBundle,
  bundle,
  type Inputs,
  inputs,
  root,
  runStack,
  SECRET_KEYS,
  STACKS,
} from "./infra-setup.ts";

beforeAll(buildBundle);

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
    ["eventPriorities", '{"email/nope":"bulk"}', /catalog event names to "interactive" or "bulk"/],
    ["backendLimits", '{"whatsapp/send-template":{"perSecond":0}}', /"perSecond": n, "inFlight": n/],
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

  it("hands the stack's event classes to the worker", async () => {
    const moved = '{"whatsapp/send-template":"interactive"}';
    const classes = async (change?: (c: Record<string, string>) => void) => {
      const bindings = (inputs(await runStack("dev", change), "workersScript:WorkersScript")[0]?.bindings ??
        []) as Inputs[];
      return bindings.find((b) => b.name === "EVENT_PRIORITIES")?.text;
    };
    expect(await classes()).toBe("{}");
    expect(await classes((c) => (c.eventPriorities = moved))).toBe(moved);
  });

  it("binds the backend limiter and creates its class only in a stack that limits its backend", async () => {
    const script = async (change?: (c: Record<string, string>) => void) =>
      inputs(await runStack("dev", change), "workersScript:WorkersScript")[0] as Inputs;
    const plain = await script();
    expect((plain.bindings as Inputs[]).some((b) => b.name === "BACKEND_LIMITER")).toBe(false);
    expect(plain.migrations).toBeUndefined();
    const limits = '{"whatsapp/send-template":{"perSecond":20}}';
    const limited = await script((c) => (c.backendLimits = limits));
    const bindings = limited.bindings as Inputs[];
    expect(bindings.find((b) => b.name === "BACKEND_LIMITER")).toMatchObject({
      type: "durable_object_namespace",
      className: "BackendLimiter",
    });
    expect(limited.migrations).toEqual({ newTag: "v1", newSqliteClasses: ["BackendLimiter"] });
    expect(bindings.find((b) => b.name === "BACKEND_LIMITS")?.text).toBe(limits);
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
