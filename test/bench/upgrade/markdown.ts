import type { Revisions } from "./ref.ts";
import type { UpgradeReport } from "./report.ts";

const counts = (entries: Record<string, number>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";

/** test/bench/results/upgrade-drill.md: a table row per direction and group, then what was seen. */
export function markdown(report: UpgradeReport, rev: Revisions): string {
  const { directions: results, problems } = report;
  const rows = results.flatMap((r) =>
    r.groups.map(
      (g) =>
        `| ${r.direction}: ${r.first} → ${r.second} | ${g.what} | ${g.events} | ${g.reachedAtSwitch} | ${g.delivered} | ${g.dead} | ${g.cancelled} | ${g.missing} | ${g.differentKey} | ${g.performedAfterCancel} | ${g.earlyCalls} | ${g.falseStatuses} | ${g.redundantDeliveries} | ${counts(g.finalStatuses)} |`,
    ),
  );
  return [
    `Upgrade drill ${report.machine.date} on ${report.machine.cpu} (${report.machine.cores} cores): REF ${rev.refLabel} ("${rev.subject}"; ${report.ref.migrations ? "with" : "before"} worker/migrations) and the ${rev.treeLabel}, ${report.eventsPerState} events per state, one state folder per direction, backend ${report.backend}, ${report.seconds} s in all.`,
    "",
    "| direction | state before the switch | events | in that state at the switch | delivered | dead | cancelled | missing | calls under a different key | performed after cancel | calls before due | false /status | same-key re-sends answered 2xx (deduplicated by the backend) | final /status |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    ...results.map(
      (r) =>
        `${r.direction}, seen just before ${r.first} stopped: ${r.groups
          .map(
            (g) =>
              `${g.group}: ${Object.entries(g.atSwitch)
                .map(([seen, n]) => `${n} × ${seen}`)
                .join(", ")}`,
          )
          .join("; ")}.`,
    ),
    "",
    ...results.map(
      (r) =>
        `${r.direction}: first release ${r.phaseSeconds.first} s, stop to serving ${r.phaseSeconds.switch} s, drained in ${r.phaseSeconds.drain} s. Worker log (warnings, errors, startup): ${Object.entries(
          r.workerLogs,
        )
          .map(([release, c]) => `${release}: ${counts(c)}`)
          .join("; ")}.`,
    ),
    "",
    ...results.flatMap((r) => r.notes.map((n) => `Note: ${n}`)),
    problems.length
      ? `FAILED: ${problems.join("; ")}`
      : "Nothing missing, every call under the event's own key, nothing performed after a cancel, the kept dead stayed dead.",
    "",
  ].join("\n");
}
