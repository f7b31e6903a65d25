import * as pulumi from "@pulumi/pulumi";
import { expect, it } from "vitest";
import { PROJECT } from "../../infra/mocks.ts";

/** The file `pulumi up` imports, run as Pulumi would: mocks and config first, then the module. */
it("exports the stack outputs from infra/index.ts", async () => {
  const created: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        created.push(type);
        return { id: `${name}-id`, state: { ...inputs, queueId: `${name}-qid`, uuid: `${name}-uuid` } };
      },
      call: ({ inputs }) => inputs,
    },
    PROJECT,
    "staging",
  );
  pulumi.runtime.setAllConfig(
    {
      [`${PROJECT}:accountId`]: "acc",
      [`${PROJECT}:backendUrl`]: "https://api.staging.example.com",
      [`${PROJECT}:authToken`]: "entry-secret-token",
    },
    [`${PROJECT}:authToken`],
  );
  const program = await import("../../infra/index.ts");
  const value = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
  expect(await value(program.scriptName)).toBe("jobs-staging");
  expect(await value(program.recoveryQueue)).toBe("jobs-recovery-staging");
  expect(await value(program.workflows)).toHaveLength(4);
  expect(await value(program.workerUrl)).toBe("https://jobs-staging.<account-subdomain>.workers.dev");
  expect(created).toContain("cloudflare:index/workersScript:WorkersScript");
});
