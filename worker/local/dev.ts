import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Backend, startBackend } from "./backend.ts";
import { type DevSettings, DevSettingsError, devSettings } from "./dev-settings.ts";
import { describePlatformFaults, PLATFORM_FAULTS_PATH } from "./faults/config.ts";
import { startRuntime } from "./runtime.ts";

/**
 * `npm run dev`: the worker on 127.0.0.1:${PORT:-8787}, state kept in ${STATE_DIR:-.wrangler/state}
 * so a restart resumes in-flight workflows. Without BACKEND_URL the reference backend starts on
 * 127.0.0.1:${BACKEND_PORT:-8788}. The scheduled handler runs every ${SCHEDULED_INTERVAL_SECONDS:-60}
 * seconds; PLATFORM_FAULTS (a JSON object) puts the platform-fault wrapper in front of the worker.
 */
const root = join(import.meta.dirname, "..", "..");
const file = join(root, ".dev.vars");
let settings: DevSettings;
try {
  settings = devSettings(process.env, existsSync(file) ? readFileSync(file, "utf8") : "");
} catch (error) {
  if (!(error instanceof DevSettingsError)) throw error;
  console.error(error.message);
  process.exit(2);
}

let backend: Backend | undefined;
if (!settings.backendUrl) {
  backend = await startBackend({
    token: settings.backendToken ?? settings.authToken,
    ...(settings.signingSecret ? { signingSecrets: [settings.signingSecret] } : {}),
    port: settings.backendPort,
    log: (line) => console.log(`[backend] ${line}`),
  });
}
const runtime = await startRuntime({
  port: settings.port,
  // Alerts link to this console.
  vars: { PUBLIC_URL: `http://127.0.0.1:${settings.port}` },
  authToken: settings.authToken,
  authTokenNext: settings.authTokenNext,
  operatorToken: settings.operatorToken,
  operatorTokenNext: settings.operatorTokenNext,
  alertWebhookUrl: settings.alertWebhookUrl ?? (backend ? `${backend.url}/control/alerts` : undefined),
  signingSecret: settings.signingSecret,
  backendUrl: settings.backendUrl ?? (backend as Backend).url,
  backendToken: settings.backendToken,
  retryDelayScale: settings.retryDelayScale,
  dispatchRateLimit: settings.rateLimit,
  persistTo: settings.stateDir ?? join(root, ".wrangler", "state"),
  platformFaults: settings.platformFaults,
  scheduledIntervalMs: settings.scheduledIntervalSeconds * 1000,
  onLog: (line) => console.log(`[worker] ${line}`),
});

console.log(`worker   ${runtime.url}`);
console.log(`backend  ${settings.backendUrl ?? `${backend?.url} (reference backend)`}`);
if (settings.platformFaults) {
  console.log(
    `${describePlatformFaults(settings.platformFaults)} (POST ${PLATFORM_FAULTS_PATH} changes them)`,
  );
}
if (settings.generatedToken) {
  console.log(`token    ${settings.authToken}   (development token; set AUTH_TOKEN to choose one)`);
}
if (settings.generatedOperatorToken) {
  console.log(
    `operator ${settings.operatorToken}   (development operator token; set OPERATOR_TOKEN to choose one)`,
  );
}
console.log(`console  ${runtime.url}/console`);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  await Promise.allSettled([runtime.close(), backend?.close()]);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
