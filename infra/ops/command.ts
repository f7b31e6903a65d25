import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  /** Everything the command wrote, stdout and stderr interleaved. */
  output: string;
}

/**
 * Runs a command found on PATH, echoing what it prints (unless `quiet`) and keeping it to read
 * afterwards. `quiet` is for commands that print secrets: their output is never echoed.
 */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (!options.quiet) stream.write(chunk);
    };
    child.stdout.on("data", keep(process.stdout));
    child.stderr.on("data", keep(process.stderr));
    child.on("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error(`\`${command}\` is not on PATH; install it first`)
          : error,
      ),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}
