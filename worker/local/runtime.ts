import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { bundleWorker } from "../build.ts";
import { type LocalSettings, localWorkerOptions } from "./bindings.ts";
import { reviveInFlight } from "./revive.ts";

export interface RuntimeOptions extends LocalSettings {
  host?: string;
  port?: number;
  /** Where D1, queues and Workflows keep state; a restart on the same folder resumes in-flight work. */
  persistTo?: string;
  /** Receives every line the worker logs. */
  onLog?: (line: string) => void;
}

export interface Runtime {
  url: string;
  miniflare: Miniflare;
  close(): Promise<void>;
}

/** Runs the bundled worker in workerd with every binding of the topology emulated locally. */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const bundle = await bundleWorker();
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      log: new Log(LogLevel.WARN),
      // The request.cf placeholder is enough locally; fetching the real one needs the internet.
      cf: false,
      resourcePersistencePath: options.persistTo,
      handleStructuredLogs: ({ message }) => (options.onLog ?? console.log)(message),
      workers: [
        {
          ...localWorkerOptions(options),
          modules: true,
          scriptPath: bundle.path,
        },
      ],
    }),
  );
  const url = await miniflare.ready;
  if (options.persistTo) {
    const revived = await reviveInFlight(miniflare);
    if (revived > 0)
      (options.onLog ?? console.log)(`revived ${revived} in-flight instances from ${options.persistTo}`);
  }
  return {
    url: url.origin,
    miniflare,
    close: () => miniflare.dispose(),
  };
}
