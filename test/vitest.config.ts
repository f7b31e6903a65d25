import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleWorker } from "../worker/build.ts";
import { type LocalSettings, localWorkerOptions } from "../worker/local/bindings.ts";
import { bundleFaultsWrapper } from "../worker/local/faults/build.ts";
import { migrationsDefine } from "../worker/release/migrations.ts";
import { LOG_FILE } from "./support/log-scan.ts";
import {
  TEST_AUTH_TOKEN,
  TEST_AUTH_TOKEN_NEXT,
  TEST_BACKEND_LIMITS,
  TEST_BACKEND_TIMEOUT_MS,
  TEST_BACKEND_TOKEN,
  TEST_MAX_EVENTS,
  TEST_OPERATOR_TOKEN,
  TEST_OPERATOR_TOKEN_NEXT,
  TEST_RATE_LIMIT,
  TEST_RECOVERY_MAX_RETRIES,
  TEST_RETRY_DELAY_SCALE,
  TEST_SIGNING_SECRET,
  TEST_TENANT_RATE_LIMIT,
} from "./support/settings.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
/**
 * The worker under test is the bundle Pulumi uploads and `npm run dev` runs, not its sources:
 * the same build, byte for byte, written aside so a test that bundles cannot rewrite it mid-run.
 */
const bundle = await bundleWorker(join(root, ".wrangler", "test-bundle"));
/** The platform-fault wrapper, next to that bundle: it imports it, unchanged, as `./worker.js`. */
const faults = await bundleFaultsWrapper(bundle.path);
/** The very files a deploy applies; each test file's database gets them before its first test. */
const migrations = await readD1Migrations(join(root, "worker", "migrations"));

/** The worker under test, with the same bindings `npm run dev` and Pulumi give it. */
const workerProject = (
  name: string,
  include: string[],
  overrides: Partial<LocalSettings> = {},
  main = bundle.path,
) => ({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main,
      miniflare: withMigrations({
        authToken: TEST_AUTH_TOKEN,
        authTokenNext: TEST_AUTH_TOKEN_NEXT,
        operatorToken: TEST_OPERATOR_TOKEN,
        operatorTokenNext: TEST_OPERATOR_TOKEN_NEXT,
        backendToken: TEST_BACKEND_TOKEN,
        signingSecret: TEST_SIGNING_SECRET,
        backendUrl: inject("backendUrl"),
        // The reference backend's sink, as `npm run dev` has it: every scheduled run checks alerts.
        alertWebhookUrl: `${inject("backendUrl")}/control/alerts`,
        retryDelayScale: TEST_RETRY_DELAY_SCALE,
        recoveryMaxRetries: TEST_RECOVERY_MAX_RETRIES,
        ...overrides,
        vars: {
          BACKEND_TIMEOUT_MS: String(TEST_BACKEND_TIMEOUT_MS),
          MAX_EVENTS_PER_REQUEST: String(TEST_MAX_EVENTS),
          ...overrides.vars,
        },
      }),
    })),
  ],
  // Worker modules that tests import from source need what the bundle's build defines.
  define: migrationsDefine(),
  test: {
    name,
    root,
    include,
    globalSetup: ["./test/support/backend-setup.ts"],
    setupFiles: ["./test/worker/apply-migrations.ts"],
    testTimeout: 30_000,
  },
});

/** The worker's options, and the migrations as a binding only the test setup reads. */
function withMigrations(settings: LocalSettings) {
  const options = localWorkerOptions(settings);
  return { ...options, bindings: { ...options.bindings, TEST_MIGRATIONS: migrations } };
}

mkdirSync(dirname(LOG_FILE), { recursive: true });

export default defineConfig({
  test: {
    // Runs once around the whole run: its teardown scans every captured log line for secrets.
    globalSetup: ["./test/support/log-scan.ts"],
    // Every line is kept for the secret scan; on screen, warnings and errors only.
    onConsoleLog: (line: string) => {
      appendFileSync(LOG_FILE, line.endsWith("\n") ? line : `${line}\n`);
      return !line.startsWith('{"level":"info"');
    },
    projects: [
      workerProject("worker", ["test/worker/**/*.test.ts"]),
      // Its own runtime, so reaching the limit cannot throttle the other tests.
      workerProject("rate-limit", ["test/rate-limit/**/*.test.ts"], {
        dispatchRateLimit: TEST_RATE_LIMIT,
        tenantRateLimit: TEST_TENANT_RATE_LIMIT,
      }),
      // Limits on the backend: its own runtime, so they hold no other test's calls.
      workerProject("limits", ["test/limits/**/*.test.ts"], {
        vars: { BACKEND_LIMITS: JSON.stringify(TEST_BACKEND_LIMITS) },
      }),
      // Thousands of requests from one caller: a limit they cannot reach.
      workerProject("fuzz", ["test/fuzz/**/*.test.ts"], { dispatchRateLimit: 1_000_000 }),
      // The wrapper as main, bound to PLATFORM_FAULTS: no faults until a test sets some.
      workerProject("faults", ["test/faults/**/*.test.ts"], { platformFaults: {} }, faults.path),
      { test: { name: "node", root, include: ["test/node/**/*.test.ts"], testTimeout: 60_000 } },
      // Pure functions (classification, chunking, status mapping, the lifecycle table): plain Node.
      { test: { name: "unit", root, include: ["test/unit/**/*.test.ts"] } },
      // The console in Debian's Chromium, against the local runtime and the reference backend.
      { test: { name: "browser", root, include: ["test/browser/**/*.test.ts"], testTimeout: 60_000 } },
    ],
  },
});
