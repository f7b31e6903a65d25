import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { type Call, type Fault, startBackend } from "../../worker/local/backend.ts";

/**
 * The reference backend where a drill or a benchmark wants it: in this process (`"in-process"`),
 * or as a separate Node process (`"process"`) reached only over HTTP, as a real service would be,
 * so nothing the runtime does can lean on sharing a process with it. Either way the same calls:
 * what it was asked, faults to inject, and closing it.
 */
export interface BackendHandle {
  url: string;
  mode: BackendMode;
  calls(): Promise<Call[]>;
  addFault(fault: Fault): Promise<void>;
  close(): Promise<void>;
}
export type BackendMode = "in-process" | "process";

export function backendMode(text: string | undefined): BackendMode {
  if (text === undefined || text === "" || text === "in-process") return "in-process";
  if (text === "process") return "process";
  throw new Error(`DRILL_BACKEND must be "in-process" or "process", not ${JSON.stringify(text)}`);
}

export async function openBackend(mode: BackendMode, token: string): Promise<BackendHandle> {
  if (mode === "in-process") {
    const backend = await startBackend({ token });
    return {
      url: backend.url,
      mode,
      calls: async () => backend.calls,
      addFault: async (fault) => backend.addFault(fault),
      close: () => backend.close(),
    };
  }
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", import.meta.filename],
    { env: { ...process.env, BACKEND_PROCESS_TOKEN: token }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const found = /^listening (\S+)$/.exec(line)?.[1];
      if (found) resolve(found);
    });
    child.once("exit", (code) => reject(new Error(`the backend process exited (${code}) before listening`)));
  });
  const control = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    if (!response.ok) throw new Error(`backend ${path} answered ${response.status}`);
    return response.json();
  };
  return {
    url,
    mode,
    calls: async () => ((await control("/control/calls")) as { calls: Call[] }).calls,
    addFault: async (fault) => {
      await control("/control/faults", { method: "POST", body: JSON.stringify(fault) });
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

// Run directly: the backend alone, until told to stop.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const backend = await startBackend({ token: process.env.BACKEND_PROCESS_TOKEN ?? "" });
  console.log(`listening ${backend.url}`);
  process.once("SIGTERM", () => void backend.close().then(() => process.exit(0)));
}
