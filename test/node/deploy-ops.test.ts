import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyUp, deploy } from "../../infra/ops/deploy.ts";
import { smokeTest } from "../../infra/ops/smoke.ts";
import { tailCommand } from "../../infra/ops/tail.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";

/**
 * `npm run deploy` and `npm run tail` against stand-ins for the CLIs they drive (a scripted
 * `pulumi` and `wrangler` first on PATH) and a real worker in the local runtime for the smoke test.
 */
const root = join(import.meta.dirname, "..", "..");
const TOKEN = "deploy-smoke-token-7f6e5d4c3b2a";
let runtime: Runtime;
let bin: string;
const originalPath = process.env.PATH;

/** A `pulumi` that answers `up` from a script of results and logs every call. */
const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("node:fs");
const script = JSON.parse(fs.readFileSync(process.env.FAKE_PULUMI_SCRIPT, "utf8"));
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_PULUMI_SCRIPT + ".log", JSON.stringify(args) + "\\n");
if (args[0] === "up") {
  const calls = fs.readFileSync(process.env.FAKE_PULUMI_SCRIPT + ".log", "utf8").split("\\n").filter((l) => l.startsWith('["up"')).length;
  const step = script.up[Math.min(calls, script.up.length) - 1];
  process.stderr.write(step.output + "\\n");
  process.exit(step.code);
}
if (args[0] === "stack" && args[2] === "workerUrl") { process.stdout.write(script.url + "\\n"); process.exit(0); }
if (args[0] === "config" && args[2] === "authToken") { process.stdout.write(script.token + "\\n"); process.exit(0); }
process.exit(3);
`;

beforeAll(async () => {
  bin = await mkdtemp(join(tmpdir(), "jobs-bin-"));
  await writeFile(join(bin, "pulumi"), FAKE_PULUMI);
  await chmod(join(bin, "pulumi"), 0o755);
  process.env.PATH = `${bin}:${originalPath}`;
  runtime = await startRuntime({ authToken: TOKEN, backendUrl: "http://127.0.0.1:9" });
}, 60_000);

afterAll(async () => {
  process.env.PATH = originalPath;
  await runtime?.close();
  await rm(bin, { recursive: true, force: true });
});

const QUEUE_NOT_FOUND =
  'error: cloudflare:index/workersScript:WorkersScript resource "worker": failed to upload: Queue "jobs-recovery-staging" not found [code: 11000]';

async function scripted(up: { code: number; output: string }[], token = TOKEN, url?: string) {
  const file = join(bin, `script-${crypto.randomUUID()}.json`);
  await writeFile(file, JSON.stringify({ up, url: url ?? runtime.url, token }));
  process.env.FAKE_PULUMI_SCRIPT = file;
  const lines: string[] = [];
  const calls = async () =>
    (await readFile(`${file}.log`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
  return { lines, calls, log: (line: string) => lines.push(line) };
}

describe("npm run deploy", () => {
  it("runs pulumi up again when a new queue or database is not visible yet, then smoke-tests", async () => {
    const run = await scripted([
      { code: 1, output: QUEUE_NOT_FOUND },
      { code: 1, output: "D1 binding 'DB' references a database which was not found [code: 10181]" },
      { code: 0, output: "Resources: 13 created" },
    ]);
    await deploy({ stack: "acme/staging", retryWaitMs: 10, log: run.log });
    const calls = await run.calls();
    expect(calls.filter((c) => c[0] === "up")).toHaveLength(3);
    for (const call of calls) expect(call).toEqual(expect.arrayContaining(["--stack", "acme/staging"]));
    expect(run.lines.filter((l) => l.includes("not visible yet"))).toHaveLength(2);
    expect(run.lines.at(-1)).toMatch(/answers \/health and accepts the stack's token/);
  });

  it("stops at once on any other pulumi up failure", async () => {
    const run = await scripted([{ code: 1, output: "error: Invalid config accountId" }]);
    await expect(deploy({ stack: "staging", retryWaitMs: 10, log: run.log })).rejects.toThrow(
      "pulumi up failed for stack staging",
    );
    expect((await run.calls()).map((c) => c[0])).toEqual(["up"]);
  });

  it("gives up after its attempts while the resource stays invisible", async () => {
    const run = await scripted([{ code: 1, output: QUEUE_NOT_FOUND }]);
    await expect(deploy({ stack: "staging", upAttempts: 3, retryWaitMs: 10, log: run.log })).rejects.toThrow(
      /failed 3 times.*11000/,
    );
  });

  it("fails the deploy when the deployed worker rejects the stack's token", async () => {
    const run = await scripted([{ code: 0, output: "ok" }], "not-the-deployed-token");
    await expect(deploy({ stack: "prod", log: run.log })).rejects.toThrow(
      /rejected the stack's authToken \(HTTP 401\)/,
    );
  });

  it("fails the deploy when the worker does not answer", async () => {
    const run = await scripted([{ code: 0, output: "ok" }], TOKEN, "http://127.0.0.1:9");
    await expect(
      deploy({ stack: "prod", smokeTimeoutMs: 300, smokeIntervalMs: 50, log: run.log }),
    ).rejects.toThrow(/smoke test of http:\/\/127\.0\.0\.1:9 failed: gave up after 300 ms/);
  });

  it("never prints the token it reads", async () => {
    await scripted([{ code: 0, output: "ok" }]);
    const child = spawn("npm", ["run", "deploy", "--", "--stack", "staging"], {
      cwd: root,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const code = await new Promise((r) => child.on("close", r));
    expect(output).toMatch(/accepts the stack's token/);
    expect(code).toBe(0);
    expect(output).not.toContain(TOKEN);
  }, 30_000);

  it("classifies only the not-yet-visible errors as worth another up", () => {
    expect(classifyUp({ code: 0, output: "" })).toEqual({ kind: "done" });
    expect(classifyUp({ code: 1, output: QUEUE_NOT_FOUND }).kind).toBe("retry");
    expect(classifyUp({ code: 1, output: '{"errors":[{"code": 10181,"message":"not found"}]}' }).kind).toBe(
      "retry",
    );
    // The numbers alone, elsewhere in the output, are not the error.
    expect(classifyUp({ code: 1, output: "error: timed out after 11000 ms" })).toEqual({ kind: "failed" });
    expect(classifyUp({ code: 1, output: "error: authentication error [code: 10000]" })).toEqual({
      kind: "failed",
    });
  });
});

describe("smoke test", () => {
  it("refuses at once a URL the worker cannot be reached at", async () => {
    expect(await smokeTest("https://jobs-dev.<account-subdomain>.workers.dev", TOKEN)).toMatchObject({
      ok: false,
      attempts: 0,
      reason: expect.stringMatching(/not a URL the worker can be reached at/),
    });
  });
});

describe("npm run tail", () => {
  const env = { CLOUDFLARE_API_TOKEN: "cf-token", PATH: "" };

  it("tails the stack's script in its account, passing other flags to wrangler", async () => {
    const command = await tailCommand(["--stack", "acme/prod", "--status", "error"], {
      ...env,
      CLOUDFLARE_ACCOUNT_ID: "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
    });
    expect(command.args).toEqual(["tail", "jobs-prod", "--format", "pretty", "--status", "error"]);
    expect(command.env.CLOUDFLARE_ACCOUNT_ID).toBe("5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b");
    expect(
      (await tailCommand(["--stack=dev", "--format=json"], { ...env, CLOUDFLARE_ACCOUNT_ID: "a" })).args,
    ).toEqual(["tail", "jobs-dev", "--format", "json"]);
  });

  it.each([
    [[], {}, /usage: npm run tail -- --stack <stack>/],
    [["--stack", "../etc"], env, /invalid stack name/],
    [["--stack", "qa"], env, /no stack file Pulumi\.qa\.yaml/],
    [["--stack", "prod"], env, /no account for stack "prod": set it with pulumi config set accountId/],
    [
      ["--stack", "prod"],
      { CLOUDFLARE_ACCOUNT_ID: "a" },
      /export CLOUDFLARE_API_TOKEN first.*Workers Tail Read/,
    ],
  ])("explains what is missing (%j)", async (argv, environment, message) => {
    await expect(tailCommand(argv, environment)).rejects.toThrow(message);
  });

  it("runs wrangler tail with the package script's own command", async () => {
    await writeFile(join(bin, "wrangler"), `#!/bin/sh\necho "wrangler $* account=$CLOUDFLARE_ACCOUNT_ID"\n`);
    await chmod(join(bin, "wrangler"), 0o755);
    // npm would put the real wrangler first on PATH; the script's command runs with the stand-in.
    const script = JSON.parse(await readFile(join(root, "package.json"), "utf8")).scripts.tail as string;
    const child = spawn("sh", ["-c", `${script} --stack staging --status error`], {
      cwd: root,
      env: {
        ...process.env,
        CLOUDFLARE_API_TOKEN: "cf",
        CLOUDFLARE_ACCOUNT_ID: "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    expect(await new Promise((r) => child.on("close", r))).toBe(0);
    expect(output).toContain(
      "wrangler tail jobs-staging --format pretty --status error account=5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
    );
  }, 30_000);
});
