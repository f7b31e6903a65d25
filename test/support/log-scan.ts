import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TEST_SECRETS } from "./settings.ts";

/** Every console line of the run lands here (see onConsoleLog in vitest.config.ts). */
export const LOG_FILE = join(import.meta.dirname, "..", "..", ".wrangler", "test-logs.txt");

/**
 * After the whole run: no configured secret may appear in any captured log line. The check fails
 * the run, and it refuses to pass vacuously when nothing was captured.
 */
export default function setup() {
  rmSync(LOG_FILE, { force: true });
  return () => {
    const logs = existsSync(LOG_FILE) ? readFileSync(LOG_FILE, "utf8") : "";
    if (!logs.includes('"message":"backend.call"')) {
      throw new Error(`log scan: no worker log lines were captured in ${LOG_FILE}`);
    }
    const leaked = TEST_SECRETS.filter((secret) => logs.includes(secret));
    if (leaked.length > 0)
      throw new Error(`log scan: ${leaked.length} configured secret(s) appear in the test run's logs`);
    console.log(`log scan: ${logs.split("\n").length - 1} log lines, no configured secret in them`);
  };
}
