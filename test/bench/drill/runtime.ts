import { startRuntime } from "../../../worker/local/runtime.ts";
import { BENCH_OPERATOR_TOKEN, BENCH_TOKEN } from "../runtimes.ts";
import { BACKEND_LIMITS, platformFaults, TIMEOUT_MS } from "./settings.ts";

/** The local runtime on the drill's persisted state `state`, with the platform's faults. */
export const startDrillRuntime = (backendUrl: string, state: string) =>
  startRuntime({
    authToken: BENCH_TOKEN,
    operatorToken: BENCH_OPERATOR_TOKEN,
    backendUrl,
    dispatchRateLimit: 1_000_000,
    retryDelayScale: 0.001,
    vars: { BACKEND_TIMEOUT_MS: String(TIMEOUT_MS), ...(BACKEND_LIMITS ? { BACKEND_LIMITS } : {}) },
    persistTo: state,
    platformFaults,
    scheduledIntervalMs: 2000,
    onLog: () => {},
  });
