import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { bundleWorker, WORKERD_BUILD } from "../../worker/build.ts";
import { percentile } from "./load.ts";

/**
 * Size of the uploaded bundle, raw and gzipped, and its module evaluation time: the bundle's
 * own code evaluated in a fresh V8 (Node), with the `cloudflare:*` modules stubbed out.
 */
export async function bundleCost(runs = 15) {
  const bundle = await bundleWorker();
  const content = await readFile(bundle.path);
  const dir = await mkdtemp(join(tmpdir(), "jobs-startup-"));
  const stub = join(dir, "cloudflare-stub.js");
  await writeFile(
    stub,
    "export class WorkflowEntrypoint {}\nexport class NonRetryableError extends Error {}\n",
  );
  const evaluated = join(dir, "worker.mjs");
  await build({
    entryPoints: [bundle.path],
    outfile: evaluated,
    bundle: true,
    format: "esm",
    platform: "node",
    alias: { "cloudflare:workers": stub, "cloudflare:workflows": stub },
    logLevel: "warning",
  });
  const probe = `const t=performance.now();await import(${JSON.stringify(evaluated)});console.log(performance.now()-t)`;
  const samples = Array.from({ length: runs }, () =>
    Number(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" }).trim()),
  ).sort((a, b) => a - b);
  return {
    bytes: content.byteLength,
    gzipBytes: gzipSync(content, { level: 9 }).byteLength,
    sha256: bundle.sha256,
    startupMs: { p50: percentile(samples, 50), p95: percentile(samples, 95) },
  };
}

/**
 * What the console adds to the uploaded bundle, gzipped: the worker bundled as it ships, and
 * again with the console's routes replaced by an empty Hono app (everything only it uses drops out).
 */
export async function consoleCost(): Promise<{ withConsole: number; withoutConsole: number; added: number }> {
  const root = join(import.meta.dirname, "..", "..");
  const gzipped = async (stub: boolean) => {
    const dir = await mkdtemp(join(tmpdir(), "jobs-console-size-"));
    const outfile = join(dir, "worker.js");
    await build({
      entryPoints: [join(root, "worker", "src", "index.ts")],
      outfile,
      ...WORKERD_BUILD,
      minify: true,
      legalComments: "none",
      plugins: stub
        ? [
            {
              name: "no-console",
              setup(b) {
                b.onLoad({ filter: /[\\/]console[\\/]routes\.tsx$/ }, () => ({
                  contents: 'import { Hono } from "hono"; export const consoleApp = new Hono();',
                  loader: "ts",
                  resolveDir: join(root, "worker", "src", "console"),
                }));
              },
            },
          ]
        : [],
    });
    return gzipSync(await readFile(outfile), { level: 9 }).byteLength;
  };
  const [withConsole, withoutConsole] = [await gzipped(false), await gzipped(true)];
  return { withConsole, withoutConsole, added: withConsole - withoutConsole };
}
