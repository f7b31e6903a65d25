import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { type Backend, startBackend } from "./backend.ts";
import { startRuntime } from "./runtime.ts";

/**
 * `npm run dev`: the worker on 127.0.0.1:${PORT:-8787}, state kept in ${STATE_DIR:-.wrangler/state}
 * so a restart resumes in-flight workflows. AUTH_TOKEN / BACKEND_URL / BACKEND_TOKEN come from the
 * environment first, then .dev.vars; without a backend URL the reference backend starts on
 * 127.0.0.1:8788.
 */
const root = join(import.meta.dirname, "..", "..");
const file = join(root, ".dev.vars");
const vars = { ...(existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {}), ...process.env };

const port = Number(vars.PORT ?? 8787);
const authToken = vars.AUTH_TOKEN ?? `dev-${randomBytes(12).toString("hex")}`;
const backendToken = vars.BACKEND_TOKEN || authToken;

let backend: Backend | undefined;
if (!vars.BACKEND_URL) {
  backend = await startBackend({
    token: backendToken,
    port: Number(vars.BACKEND_PORT ?? 8788),
    log: (line) => console.log(`[backend] ${line}`),
  });
}
const runtime = await startRuntime({
  port,
  authToken,
  backendUrl: vars.BACKEND_URL ?? (backend as Backend).url,
  backendToken: vars.BACKEND_TOKEN,
  retryDelayScale: Number(vars.RETRY_DELAY_SCALE ?? 1),
  persistTo: vars.STATE_DIR ?? join(root, ".wrangler", "state"),
  onLog: (line) => console.log(`[worker] ${line}`),
});

console.log(`worker   ${runtime.url}`);
console.log(`backend  ${vars.BACKEND_URL ?? `${backend?.url} (reference backend)`}`);
if (!vars.AUTH_TOKEN)
  console.log(`token    ${authToken}   (development token; set AUTH_TOKEN to choose one)`);

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
