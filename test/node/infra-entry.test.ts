import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, expect, it } from "vitest";
import { PROJECT, programDirectory } from "../../infra/mocks.ts";

const started = process.cwd();
afterAll(() => process.chdir(started));

/**
 * The file `pulumi up` imports, run as the CLI runs it: in Pulumi.yaml's `main` directory (where
 * the provider will also run), with mocks and config set before the module is imported.
 */
it("exports the stack outputs from infra/index.ts and uploads a file the provider can open", async () => {
  process.chdir(await programDirectory());
  const created: { type: string; inputs: Record<string, unknown> }[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        created.push({ type, inputs });
        return { id: `${name}-id`, state: { ...inputs, queueId: `${name}-qid`, uuid: `${name}-uuid` } };
      },
      call: ({ inputs }) => inputs,
    },
    PROJECT,
    "staging",
  );
  pulumi.runtime.setAllConfig(
    {
      [`${PROJECT}:accountId`]: "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
      [`${PROJECT}:backendUrl`]: "https://api.staging.acme-jobs.dev",
      [`${PROJECT}:workersDevSubdomain`]: "acme-jobs",
      [`${PROJECT}:authToken`]: "entry-secret-token",
      [`${PROJECT}:operatorToken`]: "entry-operator-token",
    },
    [`${PROJECT}:authToken`, `${PROJECT}:operatorToken`],
  );
  const program = await import("../../infra/index.ts");
  const value = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
  expect(await value(program.scriptName)).toBe("jobs-staging");
  expect(await value(program.recoveryQueue)).toBe("jobs-recovery-staging");
  expect(await value(program.workflows)).toHaveLength(4);
  expect(await value(program.workerUrl)).toBe("https://jobs-staging.acme-jobs.workers.dev");

  const script = created.find((r) => r.type === "cloudflare:index/workersScript:WorkersScript")?.inputs as {
    contentFile: string;
    contentSha256: string;
  };
  expect(script.contentFile).toBe("../dist/worker.js");
  // The root-relative path the provider would otherwise be given does not exist from here.
  await expect(readFile(resolve(process.cwd(), "dist/worker.js"))).rejects.toThrow(/ENOENT/);
  const opened = await readFile(resolve(process.cwd(), script.contentFile));
  expect(createHash("sha256").update(opened).digest("hex")).toBe(script.contentSha256);
  expect(await value(program.bundleSha256)).toBe(script.contentSha256);
});
