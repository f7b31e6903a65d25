import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runUnderMocks } from "../../infra/mocks.ts";
import { renderedDocs } from "../../infra/settings-docs.ts";
import { type Bundle, bundleWorker } from "../../worker/build.ts";
import { isRequired, SETTING_KEYS, SETTINGS, type Setting } from "../../worker/src/settings/table.ts";

const root = join(import.meta.dirname, "..", "..");

describe("the settings table", () => {
  it("is what Pulumi.yaml and the README say (regenerate with npm run settings)", async () => {
    for (const { path, text } of renderedDocs(root))
      expect(await readFile(join(root, path), "utf8"), path).toBe(text);
  });

  it("gives Pulumi.yaml every plain key with its default, and names every secret", async () => {
    const text = await readFile(join(root, "Pulumi.yaml"), "utf8");
    const config = (parse(text) as { config: Record<string, { default?: unknown }> }).config;
    for (const key of SETTING_KEYS) {
      const setting: Setting = SETTINGS[key];
      if (setting.kind === "secret") {
        expect(config[key], key).toBeUndefined();
        expect(text, key).toContain(`#   ${key} `);
      } else if (!isRequired(key)) expect(config[key]?.default, key).toEqual(setting.default);
    }
  });

  // The worker holds its vars to the same ranges (test/worker/units.test.ts).
  describe("the stack reader holds each number to its range", () => {
    let bundle: Bundle;
    beforeAll(async () => {
      bundle = await bundleWorker(await mkdtemp(join(tmpdir(), "jobs-settings-")));
    });
    const stack = (change: Record<string, string>) =>
      runUnderMocks(
        "dev",
        {
          accountId: "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b",
          backendUrl: "https://api.dev.acme-jobs.dev",
          workersDevSubdomain: "acme-jobs",
          authToken: "auth-dev-0f9e8d7c6b5a",
          operatorToken: "operator-dev-7a6b5c4d3e",
          ...change,
        },
        ["authToken", "operatorToken"],
        bundle,
      );

    it.each(["maxEventsPerRequest", "backendTimeoutMs"] as const)("%s", async (key) => {
      const { range } = SETTINGS[key];
      const [min, max] = range;
      for (const outside of [min - 1, max + 1]) {
        await expect(stack({ [key]: String(outside) }), `${key}=${outside}`).rejects.toThrow(
          `from ${min} to ${max}`,
        );
      }
      for (const inside of [min, max]) {
        await expect(stack({ [key]: String(inside) })).resolves.toBeDefined();
      }
    });
  });
});
