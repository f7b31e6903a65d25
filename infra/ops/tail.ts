import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { stackNames } from "../names.ts";

/**
 * `npm run tail -- --stack <stack> [wrangler tail flags]`: live logs of a deployed stack's
 * script through `wrangler tail`. The account comes from CLOUDFLARE_ACCOUNT_ID or the stack
 * file (where `pulumi config set accountId` wrote it); the token from CLOUDFLARE_API_TOKEN,
 * which needs "Workers Tail Read".
 */
const root = join(import.meta.dirname, "..", "..");
/** `stack`, `org/stack` or `org/project/stack`, as Pulumi names them. */
const STACK = /^([\w-]{1,100}\/){0,2}[\w-][\w.-]{0,99}$/;

export class TailError extends Error {
  override readonly name = "TailError";
}

export interface TailCommand {
  args: string[];
  env: NodeJS.ProcessEnv;
}

export async function tailCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<TailCommand> {
  const { ours, rest } = splitArgs(argv, ["--stack", "--format"]);
  const stack = ours["--stack"];
  if (!stack) throw new TailError("usage: npm run tail -- --stack <stack> [--format json] [--status error]");
  if (!STACK.test(stack)) throw new TailError(`invalid stack name "${stack}"`);
  // An org-qualified stack names its stack file by the last part.
  const name = stack.split("/").at(-1) ?? stack;
  const accountId = env.CLOUDFLARE_ACCOUNT_ID || (await stackAccount(name));
  if (!accountId)
    throw new TailError(
      `no account for stack "${name}": set it with pulumi config set accountId <cloudflare-account-id> --stack ${name}, or export CLOUDFLARE_ACCOUNT_ID`,
    );
  if (!env.CLOUDFLARE_API_TOKEN)
    throw new TailError('export CLOUDFLARE_API_TOKEN first: a token with "Workers Tail Read" on the account');
  return {
    args: ["tail", stackNames(name).script, "--format", ours["--format"] ?? "pretty", ...rest],
    env: { ...env, CLOUDFLARE_ACCOUNT_ID: accountId },
  };
}

/** Takes `--flag value` and `--flag=value` for the given flags; everything else goes to wrangler. */
function splitArgs(argv: string[], flags: string[]) {
  const ours: Record<string, string | undefined> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag = "", inline] = arg.split(/=(.*)/s);
    if (!flags.includes(flag)) rest.push(arg);
    else if (inline !== undefined) ours[flag] = inline;
    else ours[flag] = argv[++i];
  }
  return { ours, rest };
}

async function stackAccount(stack: string): Promise<string | undefined> {
  const text = await readFile(join(root, `Pulumi.${stack}.yaml`), "utf8").catch(() => {
    throw new TailError(`no stack file Pulumi.${stack}.yaml: is "${stack}" one of this project's stacks?`);
  });
  const file = parse(text) as { config?: Record<string, unknown> } | null;
  const value = file?.config?.["jobs:accountId"];
  return typeof value === "string" && value ? value : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const command = await tailCommand(process.argv.slice(2), process.env);
    const child = spawn("wrangler", command.args, { env: command.env, stdio: "inherit" });
    child.on("error", (error) => {
      console.error(`tail: could not start wrangler: ${error.message}`);
      process.exit(1);
    });
    child.on("exit", (code) => process.exit(code ?? 1));
  } catch (error) {
    console.error(error instanceof TailError ? `tail: ${error.message}` : error);
    process.exit(2);
  }
}
