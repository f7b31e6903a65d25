import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build } from "esbuild";
import { migrationsDefine } from "./release/migrations.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface Bundle {
  /** Absolute path of the ES module Cloudflare runs. */
  path: string;
  /** The module's file name, which the upload names as its main module. */
  mainModule: string;
  sha256: string;
  bytes: number;
  /** Names the module exports: `default` and every Workflow class. */
  exports: string[];
}

/** How anything that runs in workerd is bundled; the platform-fault wrapper shares it. */
export const WORKERD_BUILD = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2024",
  mainFields: ["module", "main"],
  conditions: ["workerd", "worker", "browser"],
  external: ["cloudflare:*"],
  metafile: true,
  logLevel: "warning",
} satisfies BuildOptions;

/**
 * Bundles the worker as one minified ES module. This file is what `npm run dev` and the worker
 * tests run and what Pulumi uploads, so what was tested is what ships. esbuild's output is
 * deterministic: the same sources give the same bytes and the same hash.
 */
export async function bundleWorker(outdir = join(root, "dist")): Promise<Bundle> {
  await mkdir(outdir, { recursive: true });
  const path = join(outdir, "worker.js");
  const result = await build({
    entryPoints: [join(root, "worker", "src", "index.ts")],
    outfile: path,
    ...WORKERD_BUILD,
    minify: true,
    legalComments: "none",
    // The migrations this code needs: the worker refuses a database that lacks one.
    define: migrationsDefine(),
  });
  const content = await readFile(path);
  const output = Object.values(result.metafile.outputs)[0];
  return {
    path,
    mainModule: "worker.js",
    sha256: createHash("sha256").update(content).digest("hex"),
    bytes: content.byteLength,
    exports: output?.exports ?? [],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bundle = await bundleWorker();
  console.log(`${relative(root, bundle.path)} ${bundle.bytes} bytes sha256=${bundle.sha256}`);
}
