import type { Release, RuntimeHandle, SharedOptions } from "./releases.ts";

/** Starts `release`, kept in `live` until it is stopped. */
export async function launch(
  live: Set<RuntimeHandle>,
  release: Release,
  options: SharedOptions,
): Promise<RuntimeHandle> {
  const runtime = await release.start(options);
  live.add(runtime);
  return runtime;
}

export async function stop(live: Set<RuntimeHandle>, runtime: RuntimeHandle): Promise<void> {
  live.delete(runtime);
  await runtime.close();
}
