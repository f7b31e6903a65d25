import { execFileSync } from "node:child_process";
import { defaultBase, NoBaseReleaseError } from "../../../worker/release/base.ts";

/** Which release REF is (the argument, or the release check's base) and what the tree is. */
export interface Revisions {
  refArg: string;
  commit: string;
  short: string;
  subject: string;
  head: string;
  dirty: boolean;
  treeLabel: string;
  refLabel: string;
}

/** Resolves REF from `arg` in the repository at `root`; exits 2 if there is none or it is no commit. */
export function revisions(root: string, arg: string | undefined): Revisions {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  let refArg: string;
  try {
    refArg = arg ?? defaultBase();
  } catch (error) {
    if (!(error instanceof NoBaseReleaseError)) throw error;
    console.error(`upgrade-drill: ${error.message}: \`npm run upgrade-drill -- origin/main\``);
    process.exit(2);
  }
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", "--quiet", `${refArg}^{commit}`);
  } catch {
    console.error(`upgrade-drill: ${refArg} is not a commit`);
    process.exit(2);
  }
  const short = commit.slice(0, 7);
  const subject = git("log", "-1", "--format=%s", commit).slice(0, 100);
  const head = git("rev-parse", "--short", "HEAD");
  const dirty = git("status", "--porcelain", "--untracked-files=no").length > 0;
  const treeLabel = `working tree (${head}${dirty ? " + uncommitted changes" : ""})`;
  const refLabel = `${refArg === short || refArg === commit ? short : `${refArg} = ${short}`}`;
  return { refArg, commit, short, subject, head, dirty, treeLabel, refLabel };
}
