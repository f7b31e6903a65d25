import { dirname, join } from "node:path";
import { build } from "esbuild";
import { WORKERD_BUILD } from "../../build.ts";
import { LIMITER, WORKFLOWS } from "../../src/topology.ts";

export interface FaultsBundle {
  /** Absolute path of the wrapper module, next to the worker bundle it imports. */
  path: string;
  /** Its module name: what miniflare runs as the main module. */
  mainModule: "faults.js";
  /** The real bundle's module name, as the wrapper imports it. */
  workerModule: "worker.js";
  /** Names the wrapper exports: `default`, every Workflow class and the limiter's. */
  exports: string[];
}

/**
 * Bundles the platform-fault wrapper (entry.ts) into `faults.js` next to `workerPath`, a bundle
 * from `bundleWorker`. The wrapper imports it as `./worker.js` at run time, so the worker runs
 * byte for byte as built; run the pair as two modules with the wrapper as main.
 */
export async function bundleFaultsWrapper(workerPath: string): Promise<FaultsBundle> {
  const path = join(dirname(workerPath), "faults.js");
  const result = await build({
    ...WORKERD_BUILD,
    entryPoints: [join(import.meta.dirname, "entry.ts")],
    outfile: path,
    plugins: [
      {
        name: "real-worker-external",
        setup(b) {
          b.onResolve({ filter: /^\.\/worker\.js$/ }, () => ({ path: "./worker.js", external: true }));
        },
      },
    ],
  });
  const exports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
  const missing = ["default", LIMITER.className, ...Object.values(WORKFLOWS).map((w) => w.className)].filter(
    (name) => !exports.includes(name),
  );
  if (missing.length > 0) throw new Error(`The platform-fault wrapper does not export ${missing.join(", ")}`);
  return { path, mainModule: "faults.js", workerModule: "worker.js", exports };
}
