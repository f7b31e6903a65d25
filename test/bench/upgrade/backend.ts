import type { Call, Fault } from "../../../worker/local/backend.ts";
import { type BackendHandle, backendMode, openBackend } from "../backend-process.ts";
import { BENCH_TOKEN } from "../runtimes.ts";
import { sleep } from "./settings.ts";

/** The reference backend, with what it was asked as last read (`refresh`). */
export interface DrillBackend {
  url: string;
  mode: BackendHandle["mode"];
  /** The calls as of the last `refresh`. */
  readonly calls: readonly Call[];
  refresh(): Promise<void>;
  addFault(fault: Fault): Promise<void>;
  /** Drops every backend fault (over /control, the in-process twin only adds). */
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The reference backend in this process or, with DRILL_BACKEND=process, as one of its own reached
 * over HTTP only. What it was asked is read afresh before every check (`waitUntil`) and count.
 */
export async function openDrillBackend(): Promise<DrillBackend> {
  const handle = await openBackend(backendMode(process.env.DRILL_BACKEND), BENCH_TOKEN);
  let asked: Call[] = [];
  return {
    url: handle.url,
    mode: handle.mode,
    get calls(): readonly Call[] {
      return asked;
    },
    refresh: async () => {
      asked = await handle.calls();
    },
    addFault: (fault: Fault) => handle.addFault(fault),
    async clearFaults() {
      const response = await fetch(`${handle.url}/control/faults`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      });
      if (!response.ok) throw new Error(`DELETE /control/faults answered ${response.status}`);
    },
    close: () => handle.close(),
  };
}

/** Polls `check` until it holds, at most `ms` (and a bounded number of times), the calls read afresh each time. */
export async function waitUntil(
  backend: DrillBackend,
  ms: number,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
    try {
      await backend.refresh();
      if (await check()) return true;
    } catch {
      // A runtime busy creating instances may answer slowly: look again.
    }
    await sleep(250);
  }
  return false;
}
