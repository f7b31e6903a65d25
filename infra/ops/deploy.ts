import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type CommandResult, runCommand } from "./command.ts";
import { smokeTest } from "./smoke.ts";

/**
 * `npm run deploy -- --stack <stack>`: `pulumi up`, then a smoke test of what was deployed.
 *
 * A queue or database created seconds earlier can be invisible to the script upload that binds
 * it: Cloudflare answers QueueNotFound (11000) or D1 database not found (10181), and neither
 * the provider nor its API client retries those. Everything before the script is in the state
 * by then, so running `up` again after a short wait finishes the first deployment; any other
 * failure is final at once.
 */
const NOT_YET_VISIBLE = /code["']?\s*[:=]\s*(11000|10181)\b|\[code: (11000|10181)\]|QueueNotFound/i;

export type UpOutcome = { kind: "done" } | { kind: "retry"; why: string } | { kind: "failed" };

export function classifyUp(result: CommandResult): UpOutcome {
  if (result.code === 0) return { kind: "done" };
  const match = result.output.match(NOT_YET_VISIBLE);
  return match
    ? { kind: "retry", why: `a new resource is not visible yet (${match[0]})` }
    : { kind: "failed" };
}

export class DeployError extends Error {
  override readonly name = "DeployError";
}

export interface DeployOptions {
  stack: string;
  upAttempts?: number;
  retryWaitMs?: number;
  smokeTimeoutMs?: number;
  smokeIntervalMs?: number;
  log?: (line: string) => void;
}

export async function deploy(options: DeployOptions): Promise<void> {
  const { stack, upAttempts = 4, retryWaitMs = 20_000, log = console.log } = options;
  const pulumi = (args: string[], quiet = false) =>
    runCommand("pulumi", [...args, "--stack", stack, "--non-interactive"], { quiet });

  for (let attempt = 1; ; attempt++) {
    // `up` previews first: a protected resource's replacement stops it before anything changes.
    const outcome = classifyUp(await pulumi(["up", "--yes"]));
    if (outcome.kind === "done") break;
    if (outcome.kind === "failed") throw new DeployError(`pulumi up failed for stack ${stack}`);
    if (attempt >= upAttempts)
      throw new DeployError(`pulumi up failed ${attempt} times for stack ${stack}: ${outcome.why}`);
    log(
      `deploy: ${outcome.why}; running pulumi up again in ${retryWaitMs / 1000} s (${attempt}/${upAttempts})`,
    );
    await new Promise((r) => setTimeout(r, retryWaitMs));
  }

  const url = await pulumi(["stack", "output", "workerUrl"]);
  // The token is read quietly and never printed: it only travels in the smoke request.
  const token = await pulumi(["config", "get", "authToken"], true);
  if (url.code !== 0 || token.code !== 0)
    throw new DeployError(`could not read workerUrl or authToken of stack ${stack}`);
  const result = await smokeTest(url.output.trim(), token.output.trim(), {
    ...(options.smokeTimeoutMs === undefined ? {} : { timeoutMs: options.smokeTimeoutMs }),
    ...(options.smokeIntervalMs === undefined ? {} : { intervalMs: options.smokeIntervalMs }),
  });
  if (!result.ok) throw new DeployError(`smoke test of ${url.output.trim()} failed: ${result.reason}`);
  log(
    `deploy: ${url.output.trim()} answers /health and accepts the stack's token (${result.attempts} tries)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { stack: { type: "string" } } });
  if (!values.stack) {
    console.error("usage: npm run deploy -- --stack <stack>");
    process.exit(2);
  }
  try {
    await deploy({ stack: values.stack });
  } catch (error) {
    console.error(error instanceof DeployError ? `deploy: ${error.message}` : error);
    process.exit(1);
  }
}
