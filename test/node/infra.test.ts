import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultRateLimitNamespace } from "../../infra/config.ts";
import { runUnderMocks, stackFileConfig, unwrap } from "../../infra/mocks.ts";
import { retryTimeline } from "../../infra/timeline.ts";
import { type Bundle, bundleWorker } from "../../worker/build.ts";
import { PLATFORM_FAULTS_BINDING, PLATFORM_FAULTS_PATH } from "../../worker/local/faults/config.ts";
import { buildBundle, bundle, root, userConfig } from "./infra-setup.ts";

beforeAll(buildBundle);

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
