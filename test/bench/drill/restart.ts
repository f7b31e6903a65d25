import type { Runtime } from "../../../worker/local/runtime.ts";
import type { BackendHandle } from "../backend-process.ts";
import { type Creations, notePeak } from "./creations.ts";

/**
 * Kills the runtime once the backend has performed `performedCalls` calls, then starts it again
 * on the same state: the new runtime, and after how many performed calls it was killed.
 */
export async function restartMidway(
  backend: BackendHandle,
  runtime: Runtime,
  start: () => Promise<Runtime>,
  performedCalls: number,
  creations: Creations,
): Promise<{ runtime: Runtime; killedAt: number; restartSeconds: number }> {
  const performed = async () => (await backend.calls()).filter((c) => c.performed).length;
  while ((await performed()) < performedCalls) await new Promise((r) => setTimeout(r, 250));
  const killedAt = await performed();
  await notePeak(runtime.url, creations);
  await runtime.close();
  await new Promise((r) => setTimeout(r, 1000));
  const restartStarted = Date.now();
  const restarted = await start();
  const restartSeconds = (Date.now() - restartStarted) / 1000;
  console.log(
    `restarted the runtime after ${killedAt} performed calls (${restartSeconds.toFixed(1)} s to serve again)`,
  );
  return { runtime: restarted, killedAt, restartSeconds };
}
