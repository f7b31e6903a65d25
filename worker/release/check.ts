import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultBase, git, NoBaseReleaseError } from "./base.ts";
import { compareContracts, type Finding, staleOnlyInAdditions } from "./compare.ts";
import { contractOf, type ReleaseContract } from "./contract.ts";

/**
 * `npm run check-release [BASE] [-- --write]`: would this change hurt work that BASE (default:
 * the merge base with main) leaves in flight? Compares the release contract of the working tree
 * with BASE's, both read off their sources, and checks that worker/release.json is current.
 * Exits 1 on anything breaking; `--write` regenerates worker/release.json.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { write: { type: "boolean" } },
});
const root = git("rev-parse", "--show-toplevel");
const file = join(root, "worker", "release.json");
const REGENERATE = "npm run check-release -- --write";
const head = await contractOf(root);
const text = (contract: ReleaseContract) => `${JSON.stringify(contract, null, 2)}\n`;

if (values.write) {
  writeFileSync(file, text(head));
  console.log(
    `wrote worker/release.json: ${Object.keys(head.events).length} events, ${head.migrations.length} migrations, recovery message v${head.recoveryMessage.version}`,
  );
  process.exit(0);
}

let ref: string;
try {
  ref = positionals[0] ?? defaultBase();
} catch (error) {
  if (!(error instanceof NoBaseReleaseError)) throw error;
  console.error(`check-release: ${error.message}: \`npm run check-release -- origin/main\``);
  process.exit(2);
}
const commit = git("rev-parse", "--verify", `${ref}^{commit}`);

/** BASE's sources beside this tree, sharing its node_modules, read by this tree's reader. */
const dir = mkdtempSync(join(tmpdir(), "jobs-release-"));
let base: ReleaseContract;
try {
  execFileSync("sh", ["-c", `git archive ${commit} worker | tar -x -C "${dir}"`], { cwd: root });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  base = await contractOf(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const findings: Finding[] = compareContracts(base, head);
const problems = findings.filter((f) => f.kind === "breaking");
let fileNote: string;
if (!existsSync(file)) {
  fileNote = `worker/release.json is missing: run \`${REGENERATE}\` and commit it.`;
  problems.push({ kind: "breaking", subject: "worker/release.json", message: fileNote });
} else {
  const committed = JSON.parse(readFileSync(file, "utf8")) as ReleaseContract;
  if (JSON.stringify(committed) === JSON.stringify(head)) fileNote = "worker/release.json is current.";
  else if (staleOnlyInAdditions(committed, head))
    fileNote = `worker/release.json is stale only in additions (safe): run \`${REGENERATE}\` and commit it.`;
  else {
    fileNote = `worker/release.json does not match the code: run \`${REGENERATE}\`, review its diff, and commit it.`;
    problems.push({ kind: "breaking", subject: "worker/release.json", message: fileNote });
  }
}

const released = new Set(base.migrations.map((m) => m.name));
const pending = head.migrations.filter((m) => !released.has(m.name));
const line = (f: Finding) => `- **${f.subject}**: ${f.message}`;
const report = [
  `## Release check against ${ref === commit ? commit.slice(0, 12) : `${ref} (${commit.slice(0, 12)})`}`,
  "",
  problems.length === 0
    ? "Safe for work in flight: no step, event, migration or message format that stored work depends on changed."
    : `**${problems.length} change(s) would hurt work in flight:**`,
  ...problems.map(line),
  "",
  `Pending migrations (applied by the deploy before the new worker version goes live): ${pending.length === 0 ? "none" : pending.map((m) => `${m.name} (sha256 ${m.sha256.slice(0, 12)}…)`).join(", ")}`,
  ...findings.filter((f) => f.kind === "note").map(line),
  "",
  fileNote,
].join("\n");
console.log(report);
process.exit(problems.length === 0 ? 0 : 1);
