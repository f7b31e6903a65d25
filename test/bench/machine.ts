import { createRequire } from "node:module";
import { cpus, totalmem } from "node:os";

/** What the figures were measured on, written beside them. */
export function machine() {
  const require = createRequire(import.meta.url);
  const workerd = (require("workerd/package.json") as { version: string }).version;
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    workerd,
    date: new Date().toISOString().slice(0, 10),
  };
}
