import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockRun, runUnderMocks, stackFileConfig, unwrap } from "../../infra/mocks.ts";
import { type Bundle, bundleWorker } from "../../worker/build.ts";

export const root = join(import.meta.dirname, "..", "..");

// biome-ignore lint/suspicious/noExplicitAny: resource inputs of many shapes, read by field name.
export type Inputs = Record<string, any>;

export const STACKS = ["dev", "staging", "prod"] as const;

/** What each user sets with `pulumi config set` before a first preview: nothing a stack file can hold. */
export const ACCOUNT_ID = "5f0c7a1e9b2d4c6e8a0b1c2d3e4f5a6b";

export const ZONE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

export const userConfig = (stack: string): Record<string, string> => ({
  accountId: ACCOUNT_ID,
  backendUrl: `https://api.${stack}.acme-jobs.dev`,
  ...(stack === "prod"
    ? { customDomain: "jobs.acme-jobs.dev", zoneId: ZONE_ID }
    : { workersDevSubdomain: "acme-jobs" }),
});

export const tokens = (stack: string) => ({
  authToken: `auth-${stack}-0f9e8d7c6b5a`,
  operatorToken: `operator-${stack}-7a6b5c4d3e`,
  backendToken: `backend-${stack}-1a2b3c4d5e`,
  signingSecret: `signing-${stack}-9e8d7c6b5a4f`,
});

/** Every config key that holds a secret. */
export const SECRET_KEYS = [
  "authToken",
  "authTokenNext",
  "backendToken",
  "signingSecret",
  "operatorToken",
  "operatorTokenNext",
  "alertWebhookUrl",
];

/** The bundle every stack uploads, built once per test file (`beforeAll(buildBundle)`). */
export let bundle: Bundle;

export async function buildBundle() {
  bundle = await bundleWorker(await mkdtemp(join(tmpdir(), "jobs-bundle-")));
}

/** A stack as its file declares it, with its secrets set the way `pulumi config set --secret` would. */
export async function runStack(stack: string, change: (config: Record<string, string>) => void = () => {}) {
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

export const ofType = (run: MockRun, type: string) =>
  run.resources.filter((r) => r.type === `cloudflare:index/${type}`);

export const inputs = (run: MockRun, type: string) =>
  ofType(run, type).map((r) => unwrap(r.inputs) as Inputs);
