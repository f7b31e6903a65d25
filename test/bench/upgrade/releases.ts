import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { PlatformFaults } from "../../../worker/local/faults/config.ts";
import { startRuntime } from "../../../worker/local/runtime.ts";

/** The options both releases' `startRuntime` take (REF's may take more, or fewer). */
export interface SharedOptions {
  authToken: string;
  operatorToken: string;
  backendUrl: string;
  persistTo: string;
  scheduledIntervalMs: number;
  retryDelayScale: number;
  dispatchRateLimit: number;
  vars: { BACKEND_TIMEOUT_MS: string };
  onLog: (line: string) => void;
  platformFaults?: PlatformFaults;
}
export interface RuntimeHandle {
  url: string;
  close(): Promise<void>;
}
export interface Release {
  label: string;
  /** Whether it has the platform-fault wrapper (POST /__platform-faults), which state (a) needs. */
  platformFaults: boolean;
  start(options: SharedOptions): Promise<RuntimeHandle>;
}

/** The working tree, this checkout's own runtime. */
export const tree: Release = {
  label: "tree",
  platformFaults: true,
  start: (options) => startRuntime(options),
};

/**
 * Release `commit`, exported from git into a folder of its own (`refDir`, to be removed by the
 * caller) that shares this checkout's node_modules, its runtime imported from there.
 */
export async function exportRelease(
  root: string,
  commit: string,
  short: string,
): Promise<{ ref: Release; refDir: string; migrations: boolean }> {
  const refDir = await mkdtemp(join(tmpdir(), "jobs-upgrade-ref-"));
  execFileSync("sh", ["-c", 'git archive --format=tar "$1" | tar -x -C "$2"', "sh", commit, refDir], {
    cwd: root,
  });
  await symlink(join(root, "node_modules"), join(refDir, "node_modules"), "dir");
  const refRuntime = (await import(pathToFileURL(join(refDir, "worker", "local", "runtime.ts")).href)) as {
    startRuntime(options: SharedOptions): Promise<RuntimeHandle>;
  };
  const ref: Release = {
    label: `REF ${short}`,
    platformFaults: existsSync(join(refDir, "worker", "local", "faults", "entry.ts")),
    start: (options) => refRuntime.startRuntime(options),
  };
  return { ref, refDir, migrations: existsSync(join(refDir, "worker", "migrations")) };
}
