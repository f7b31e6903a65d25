import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const script = join(root, "worker", "release", "check.ts");

/**
 * `npm run check-release` on a repository of its own: this tree's worker/ committed on `main`,
 * then changed in the working tree the way a pull request would change it.
 */
let repo: string;
const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" });
const edit = (path: string, change: (text: string) => string) => {
  const file = join(repo, path);
  const before = readFileSync(file, "utf8");
  const after = change(before);
  expect(after, `the edit of ${path} changed nothing`).not.toBe(before);
  writeFileSync(file, after);
};
const check = (...args: string[]) => {
  const run = spawnSync(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", script, ...args],
    {
      cwd: repo,
      encoding: "utf8",
    },
  );
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
};
const CATALOG = "worker/src/events/catalog.ts";

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "jobs-check-release-"));
  cpSync(join(root, "worker"), join(repo, "worker"), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(repo, "node_modules"));
  writeFileSync(join(repo, ".gitignore"), "node_modules\n");
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release");
  // A pull request's branch: its merge base with main is the release it will meet.
  git("checkout", "-qb", "change");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "change");
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe("npm run check-release", () => {
  it("never compares a tree with itself: without a base to meet, it asks for one", () => {
    git("checkout", "-q", "main");
    git("branch", "-D", "change");
    const { code, out } = check();
    expect(code).toBe(2);
    expect(out).toContain("no base release found");
  });

  it("passes on the released tree itself, its contract file current", () => {
    const { code, out } = check();
    expect(out).toContain("Safe for work in flight");
    expect(out).toContain("worker/release.json is current.");
    expect(code).toBe(0);
  });

  it("fails on a renamed payout step, naming the event and the step, and says how to change steps", () => {
    edit(CATALOG, (t) =>
      t.replace('"payment/process-payout", "payment/notify', '"payment/execute-payout", "payment/notify'),
    );
    const { code, out } = check();
    expect(code).toBe(1);
    expect(out).toContain("**payment/process-payout step payment/process-payout**: step renamed or removed");
    expect(out).toContain("add a new event");
    expect(out).toContain("retired");
  });

  it("fails on reordered steps", () => {
    edit(CATALOG, (t) =>
      t.replace(
        '["payment/validate-payout", "payment/process-payout", "payment/notify-payout-status"]',
        '["payment/process-payout", "payment/validate-payout", "payment/notify-payout-status"]',
      ),
    );
    const { code, out } = check();
    expect(code).toBe(1);
    expect(out).toContain("step payment/validate-payout**: step moved from position 1 to 2");
  });

  it("fails on a removed event, and passes once it was retired first", () => {
    const removeRefund = (t: string) =>
      t.replace(/ {2}"email\/refund-confirmation": \{\n[\s\S]*?schema: payload\(charge\),\n {2}\},\n/, "");
    edit(CATALOG, removeRefund);
    const removed = check();
    expect(removed.code).toBe(1);
    expect(removed.out).toContain("**email/refund-confirmation**: event removed");

    // Expand: retire it in one release (it stays routable) ...
    git("checkout", "-q", "--", CATALOG);
    edit(CATALOG, (t) =>
      t.replace(
        '"email/refund-confirmation": {\n    workflow: "email",',
        '"email/refund-confirmation": {\n    workflow: "email",\n    retired: {},',
      ),
    );
    expect(check("--write").code).toBe(0);
    const retired = check();
    expect(retired.out).toContain("retired: /dispatch refuses it, stored ones still run");
    expect(retired.code).toBe(0);
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "retire");
    // ... contract in a later one, measured against the release that retired it.
    edit(CATALOG, removeRefund);
    check("--write");
    const later = check("HEAD");
    expect(later.out).toContain("removed after being retired");
    expect(later.code).toBe(0);
  });

  it("fails on what a running instance depends on: a step's recorded name, the Idempotency-Key, the envelope, the database's name", () => {
    // The edits write template literals into source files: their `${...}` is meant literally.
    edit("worker/src/workflows/step-names.ts", (t) =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text being written
      t.replace("call: (step: string) => step,", "call: (step: string) => `call ${step}`,"),
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text being written
    edit("worker/src/backend/key.ts", (t) => t.replace("`${eventId}:${step}`", "`${eventId}/${step}`"));
    edit("worker/src/events/job.ts", (t) =>
      t.replace("  runAt: z.number().optional(),", "  runAt: z.number(),"),
    );
    edit("worker/src/topology.ts", (t) =>
      t.replace('binding: "DB", name: "jobs"', 'binding: "DB", name: "jobs-v2"'),
    );
    const { code, out } = check();
    expect(code).toBe(1);
    expect(out).toContain('**workflow step call**: recorded as "call sample/step" instead of "sample/step"');
    expect(out).toContain(
      "**Idempotency-Key**: changed from evt_sample:sample/step to evt_sample/sample/step",
    );
    expect(out).toContain("**event envelope (JobParamsSchema) runAt**: field now required");
    expect(out).toContain("**name database**: renamed from jobs to jobs-v2");
  });

  it("passes on an optional field added to the envelope, with a note", () => {
    edit("worker/src/events/job.ts", (t) =>
      t.replace(
        "  runAt: z.number().optional(),",
        "  runAt: z.number().optional(),\n  priority: z.number().optional(),",
      ),
    );
    const { code, out } = check();
    expect(out).toContain("event envelope (JobParamsSchema) priority");
    expect(out).toContain("optional field added");
    expect(code).not.toBe(1);
  });

  it("fails on an edited or a deleted released migration", () => {
    edit(
      "worker/migrations/0001_initial.sql",
      (t) => `${t}\nCREATE INDEX events_tenant ON events (tenant_id);\n`,
    );
    const edited = check();
    expect(edited.code).toBe(1);
    expect(edited.out).toContain("**migration 0001_initial.sql**: released migration edited");
    rmSync(join(repo, "worker/migrations/0001_initial.sql"));
    const deleted = check();
    expect(deleted.code).toBe(1);
    expect(deleted.out).toContain("released migration deleted");
  });

  it("fails on a recovery message format changed without a new version", () => {
    edit("worker/src/recovery/message.ts", (t) =>
      t.replace(
        "eventId: z.string().min(1).max(200) })",
        "eventId: z.string().min(1).max(200), step: z.string() })",
      ),
    );
    const { code, out } = check();
    expect(code).toBe(1);
    expect(out).toContain("**recovery message v1**: format changed without a new version");
  });

  it("passes on an added event and an added migration, the contract file stale only in additions, and says how to regenerate it", () => {
    edit(CATALOG, (t) =>
      t.replace(
        '  "email/refund-confirmation": {',
        '  "email/welcome": {\n    workflow: "email",\n    schema: payload({ email: text }),\n  },\n  "email/refund-confirmation": {',
      ),
    );
    writeFileSync(
      join(repo, "worker/migrations/0900_tenant_index.sql"),
      "CREATE INDEX events_tenant ON events (tenant_id);\n",
    );
    const { code, out } = check();
    expect(out).toContain(
      "Pending migrations (applied by the deploy before the new worker version goes live): 0900_tenant_index.sql",
    );
    expect(out).toContain("**email/welcome**: event added");
    expect(out).toContain("stale only in additions (safe): run `npm run check-release -- --write`");
    expect(code).toBe(0);
    expect(check("--write").code).toBe(0);
    expect(check().out).toContain("worker/release.json is current.");
  });

  it("fails when the contract file says something the code no longer does", () => {
    edit("worker/release.json", (t) => t.replace('"email/verification"\n', '"email/verify"\n'));
    const { code, out } = check();
    expect(code).toBe(1);
    expect(out).toContain("worker/release.json does not match the code");
  });
});
