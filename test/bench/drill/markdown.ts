import type { DrillReport } from "./report.ts";
import { BURSTS, CREATION_LIMIT } from "./settings.ts";

const list = (entries: Record<string, number>) =>
  Object.entries(entries)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ") || "none";

/** test/bench/results/drill.md: the report in a sentence, a table row and the verdict. */
export function markdown(report: DrillReport): string {
  const r = report;
  const { producer } = r;
  return [
    `Drill ${r.machine.date} on ${r.machine.cpu} (${r.machine.cores} cores): ${r.dispatched} events in ${BURSTS} bursts from legacy-SDK producers (${r.cancelled.asked} of them delayed and cancelled), backend ${r.backend}, platform faults ${JSON.stringify(r.platformFaults)}, runtime restarted after ${r.restartAfterPerformedCalls} performed calls, ${r.seconds} s in all.`,
    "",
    "| dispatched | accepted | delivered | dead (reason) | cancelled | missing (given up) | delivered and dead | false statuses | calls after a cancel | per-item errors from platform faults | peak creations/s (limit) | 429s per 1,000 creations | time to drain | redundant calls per 1,000 | via recovery queue |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    `| ${r.dispatched} | ${producer.accepted} | ${r.delivered} | ${r.dead} (${list(r.deadReasons)}) | ${r.cancelled.acknowledged} | ${r.missing + r.givenUp} (${r.givenUp}) | ${r.deliveredAndDead} | ${r.falseStatuses} | ${r.cancelled.callsAfter} | ${producer.perItemErrors} | ${r.peakCreationsPerSecond} (${CREATION_LIMIT}) | ${r.refusalsPer1000Creations} | ${r.drainSeconds} s | ${r.redundantCallsPer1000} | ${r.deliveredThroughRecoveryQueue} |`,
    "",
    `Producers: ${list(producer.statuses)} answers; ${producer.resentRequests} requests re-sent whole, ${producer.abandonedBatches} batches given up. Backend: ${r.calls} calls, ${r.failedCalls} failed (${list(r.backendFaults)}). Redundant deliveries are 2xx answers beyond the first per Idempotency-Key: what a backend that does not deduplicate would have performed twice.`,
    "",
    ...(r.limits
      ? [
          `Backend limits ${r.limits.backendLimits}: ${r.limits.peaks.map((p) => `${p.path} at most ${p.busiestSecond} calls in a second (limit ${p.limit})`).join("; ") || "no perSecond limit"}.`,
          "",
        ]
      : []),
    r.problems.length
      ? `FAILED: ${r.problems.join("; ")}`
      : "Nothing lost (every dispatched event accepted), nothing both delivered and dead, no false status, no step after a cancel, every key the event's own.",
    "",
  ].join("\n");
}
