import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TEST_SECRETS } from "./settings.ts";

/** Every console line of the run lands here (see onConsoleLog in vitest.config.ts). */
export const LOG_FILE = join(import.meta.dirname, "..", "..", ".wrangler", "test-logs.txt");

/**
 * After the whole run: no configured secret may appear in any captured log line; a hit fails
 * the run. It says how many lines it read, so a run that captured none is visible as such.
 */
export default function setup() {
  rmSync(LOG_FILE, { force: true });
  return () => {
    const logs = existsSync(LOG_FILE) ? readFileSync(LOG_FILE, "utf8") : "";
    const leaked = TEST_SECRETS.filter((secret) => logs.includes(secret));
    if (leaked.length > 0)
      throw new Error(`log scan: ${leaked.length} configured secret(s) appear in the test run's logs`);
    const workerLines = logs.split("\n").filter((line) => line.startsWith('{"level":')).length;
    console.log(`log scan: ${workerLines} worker log lines, no configured secret in them`);
  };
}
