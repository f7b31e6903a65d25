import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";
import { COMPATIBILITY_DATE, LOCAL_COMPATIBILITY_FLAGS } from "../../worker/src/compatibility.ts";

export const BENCH_TOKEN = "bench-token-5f4e3d2c1b0a";
export const BENCH_OPERATOR_TOKEN = "bench-operator-token-a1b2c3d4e5";

/** The real worker, as `npm run dev` runs it, with a rate limit the benchmark cannot reach. */
export function startJobs(
  backendUrl: string,
  persistTo?: string,
  vars: Record<string, string> = {},
  scale = 1,
) {
  return startRuntime({
    authToken: BENCH_TOKEN,
    backendUrl,
    dispatchRateLimit: 1_000_000,
    retryDelayScale: scale,
    vars,
    ...(persistTo ? { persistTo } : {}),
    onLog: () => {},
  });
}

/**
 * Bundles a benchmark-only worker like the real one. Inside the project: workerd names modules
 * by their path relative to the working directory.
 */
export async function bundleBenchWorker(entry: string, name: string): Promise<string> {
  const scriptPath = join(import.meta.dirname, "..", "..", ".wrangler", "bench", `${name}.js`);
  await build({
    entryPoints: [join(import.meta.dirname, entry)],
    outfile: scriptPath,
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    minify: true,
    logLevel: "warning",
  });
  return scriptPath;
}

/** The floor worker, bundled the same way and run in the same workerd. */
export async function startFloor(backendUrl: string): Promise<Runtime> {
  const scriptPath = await bundleBenchWorker("floor-worker.ts", "floor");
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.WARN),
      cf: false,
      workers: [
        {
          name: "bench-floor",
          modules: true,
          scriptPath,
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: [...LOCAL_COMPATIBILITY_FLAGS],
          workflows: { FLOOR_WORKFLOW: { name: "bench-floor-workflow", className: "FloorWorkflow" } },
          bindings: { BACKEND_URL: backendUrl, BACKEND_TOKEN: BENCH_TOKEN },
        },
      ],
    }),
  );
  const url = await miniflare.ready;
  return { url: url.origin, miniflare, close: () => miniflare.dispose() };
}
