import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));

export interface Bundle {
  /** Absolute path of the ES module Cloudflare runs. */
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * Bundles the worker as one minified ES module. This file is what `npm run dev` runs and what
 * gets uploaded, so what was tested locally is what ships.
 */
export async function bundleWorker(outdir = join(root, "..", "dist")): Promise<Bundle> {
  await mkdir(outdir, { recursive: true });
  const path = join(outdir, "worker.js");
  await build({
    entryPoints: [join(root, "src", "index.ts")],
    outfile: path,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2024",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    minify: true,
    sourcemap: "external",
    legalComments: "none",
    logLevel: "warning",
  });
  const content = await readFile(path);
  return { path, sha256: createHash("sha256").update(content).digest("hex"), bytes: content.byteLength };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bundle = await bundleWorker();
  console.log(`${bundle.path} ${bundle.bytes} bytes sha256=${bundle.sha256}`);
}
