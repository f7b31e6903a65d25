import { type Accounting, violations } from "../../../worker/local/accounting.ts";
import type { Call } from "../../../worker/local/backend-api.ts";
import type { ProducerReport } from "../../support/legacy-producer.ts";
import type { BackendMode } from "../backend-process.ts";
import type { LimitPeak } from "../limit-peaks.ts";
import { machine } from "../machine.ts";
import type { Cancels } from "./cancels.ts";
import type { Creations } from "./creations.ts";
import { CREATION_LIMIT, N, platformFaults } from "./settings.ts";

/** What the drill saw, once the runtime and the backend are closed. */
export interface DrillOutcome {
  started: number;
  backend: BackendMode;
  /** The accounting of the accepted events that were not to be cancelled. */
  result: Accounting;
  calls: readonly Call[];
  producer: ProducerReport;
  givenUp: number;
  toCancel: number;
  cancels: Cancels;
  unacknowledged: number;
  /** Backend calls after an acknowledged cancel (beyond a step already under way). */
  afterCancel: number;
  falseStatuses: readonly string[];
  killedAt: number;
  restartSeconds: number;
  creations: Creations;
  drainSeconds: number;
  deliveredThroughRecoveryQueue: number;
  /** With limits on: the backend's busiest second per limited path, against its limit. */
  limits?: { backendLimits: string; peaks: LimitPeak[] };
}

/** Anything that must never happen, as readable lines: the drill fails on any. */
function problemsOf(o: DrillOutcome): string[] {
  return [
    ...(o.limits?.peaks ?? [])
      .filter((p) => p.busiestSecond > p.limit)
      .map((p) => `${p.path} got ${p.busiestSecond} calls in one second, over its limit of ${p.limit}`),
    ...violations(o.result),
    ...(o.givenUp ? [`${o.givenUp} dispatched events never accepted (their producers gave up)`] : []),
    ...(o.falseStatuses.length
      ? [`${o.falseStatuses.length} false statuses: ${o.falseStatuses.slice(0, 3).join("; ")}`]
      : []),
    ...(o.afterCancel ? [`${o.afterCancel} backend calls after an acknowledged cancel`] : []),
    ...(o.unacknowledged ? [`${o.unacknowledged} cancels of accepted events not acknowledged`] : []),
    ...(o.producer.itemErrors.size
      ? [`${o.producer.itemErrors.size} per-item errors from platform trouble`]
      : []),
    ...(o.creations.peak > CREATION_LIMIT
      ? [`peak creation rate ${o.creations.peak}/s above the limit ${CREATION_LIMIT}/s`]
      : []),
  ];
}

/** test/bench/results/drill.json. */
export function drillReport(o: DrillOutcome) {
  const { result, producer } = o;
  const backendFaults: Record<string, number> = {};
  for (const call of o.calls)
    if (call.fault) backendFaults[call.fault] = (backendFaults[call.fault] ?? 0) + 1;
  const problems = problemsOf(o);
  return {
    machine: machine(),
    seconds: Math.round((Date.now() - o.started) / 1000),

    platformFaults,
    backend: o.backend,
    dispatched: N,
    givenUp: o.givenUp,
    cancelled: {
      asked: o.toCancel,
      acknowledged: o.cancels.acked.size,
      answers: o.cancels.answers,
      callsAfter: o.afterCancel,
    },
    falseStatuses: o.falseStatuses.length,
    falseStatusSamples: o.falseStatuses.slice(0, 10),
    redundantCallsPer1000: Number(((result.redundantDeliveries / N) * 1000).toFixed(1)),
    restartAfterPerformedCalls: o.killedAt,
    restartSeconds: o.restartSeconds,
    producer: {
      accepted: producer.accepted.size,
      perItemErrors: producer.itemErrors.size,
      perItemErrorSamples: [...producer.itemErrors.values()].slice(0, 5),
      resentRequests: producer.resends,
      abandonedBatches: producer.abandonedBatches,
      statuses: producer.statuses,
    },
    peakCreationsPerSecond: o.creations.peak,
    refusalsPer1000Creations: Number(
      ((o.creations.refusals / Math.max(1, o.creations.instances)) * 1000).toFixed(1),
    ),
    drainSeconds: o.drainSeconds,
    backendFaults,
    deliveredThroughRecoveryQueue: o.deliveredThroughRecoveryQueue,
    ...(o.limits ? { limits: o.limits } : {}),
    ...result,
    missing: result.missing.length,
    missingIds: result.missing.slice(0, 20),
    deliveredAndDead: result.deliveredAndDead.length,
    problems,
  };
}

export type DrillReport = ReturnType<typeof drillReport>;
