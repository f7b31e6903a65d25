import { execFileSync } from "node:child_process";

/** Git in the working tree's repository, its output trimmed. */
export const git = (...args: string[]) =>
  execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** No release to compare with (no main branch, or a shallow clone): the caller must name one. */
export class NoBaseReleaseError extends Error {
  constructor() {
    super("no base release found (no main branch, or a shallow clone): pass one, e.g. origin/main");
    this.name = "NoBaseReleaseError";
  }
}

/**
 * The release this change will meet: the merge base with main; on main itself, the commit before
 * this one. Never this tree compared with itself, which would pass anything.
 */
export function defaultBase(): string {
  const head = git("rev-parse", "HEAD");
  for (const branch of ["origin/main", "main"]) {
    let base: string;
    try {
      base = git("merge-base", "HEAD", branch);
    } catch {
      continue;
    }
    if (base !== head) return base;
    try {
      return git("rev-parse", "--verify", "HEAD^");
    } catch {}
  }
  throw new NoBaseReleaseError();
}
