import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDrillBackend, waitUntil } from "./upgrade/backend.ts";
import type { DrillContext } from "./upgrade/context.ts";
import { runDirection } from "./upgrade/direction.ts";
import { markdown } from "./upgrade/markdown.ts";
import { revisions } from "./upgrade/ref.ts";
import { exportRelease, tree } from "./upgrade/releases.ts";
import { upgradeReport } from "./upgrade/report.ts";
import type { DirectionResult } from "./upgrade/results.ts";

/**
 * `npm run upgrade-drill [REF]`: can a release be deployed over work in flight, and rolled back?
 * Release REF (default: the release this change meets, as `npm run check-release` picks it)
 * runs from its own exported tree on fresh persisted state; work is put in every state
 * (accepted and not created, sleeping until a time after the switch, a payout between steps,
 * retrying on the recovery ladder, dead, cancelled);
 * REF is stopped mid-flight and the working tree starts on the same state (its migrations
 * applied first, as a deploy would), drains it and replays the dead. Then the same in reverse on
 * fresh state: the working tree first, REF after it. One reference backend (in this process)
 * sees every call of both. Exits non-zero on a missing event, a call under a key that is not the
 * event's own, a call performed after an acknowledged cancel, or a kept dead event that moved.
 */

// --- The two releases ---------------------------------------------------------------------------

const root = join(import.meta.dirname, "..", "..");
const rev = revisions(root, process.argv[2]);
const { ref, refDir, migrations: refMigrations } = await exportRelease(root, rev.commit, rev.short);
console.log(
  `REF ${rev.refLabel} "${rev.subject}" (${refMigrations ? "has" : "no"} worker/migrations${ref.platformFaults ? "" : ", no platform-fault wrapper"}), exported to ${refDir}`,
);

// --- Backend, state ------------------------------------------------------------------------------

const started = Date.now();
const backend = await openDrillBackend();
const stateRoot = process.env.STATE_DIR ?? (await mkdtemp(join(tmpdir(), "jobs-upgrade-state-")));
const ctx: DrillContext = { backend, live: new Set(), stateRoot };

// --- Run both directions and report ---------------------------------------------------------------

const results: DirectionResult[] = [];
try {
  const upgrade = await runDirection(ctx, "upgrade", "up", ref, tree);
  const rollback = await runDirection(ctx, "rollback", "rb", tree, ref);
  // A call still under way (the slow step 2 of a stopped release) is accounted with its answer.
  if (!(await waitUntil(backend, 45_000, async () => !backend.calls.some((c) => c.status === 0))))
    rollback.result.notes.push("some backend calls were still unanswered at the end");
  await backend.refresh();
  for (const { result, account } of [upgrade, rollback]) {
    account();
    results.push(result);
  }
} catch (error) {
  console.error(
    `upgrade-drill stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 2;
} finally {
  for (const runtime of ctx.live) await runtime.close().catch(() => {});
  await backend.close();
}
if (process.exitCode === 2) {
  await rm(refDir, { recursive: true, force: true });
  console.error(`state kept in ${stateRoot}`);
  process.exit(2);
}
const unattributed = backend.calls.filter((c) => !/^(up|rb)_/.test(c.eventId));
const problems = [
  ...results.flatMap((r) => r.problems),
  ...(unattributed.length ? [`${unattributed.length} backend calls for no event of the drill`] : []),
];
const report = upgradeReport({
  seconds: Math.round((Date.now() - started) / 1000),
  backend: backend.mode,
  rev,
  ref: { migrations: refMigrations, platformFaults: ref.platformFaults },
  results,
  problems,
});
const text = markdown(report, rev);
const out = join(import.meta.dirname, "results");
await mkdir(out, { recursive: true });
await writeFile(join(out, "upgrade-drill.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(out, "upgrade-drill.md"), text);
console.log(`\n${text}\nwrote test/bench/results/upgrade-drill.{json,md}`);
await rm(refDir, { recursive: true, force: true });
if (problems.length === 0 && process.env.STATE_DIR === undefined)
  await rm(stateRoot, { recursive: true, force: true });
else console.log(`state and worker logs kept in ${stateRoot}`);
process.exit(problems.length > 0 ? 1 : 0);
