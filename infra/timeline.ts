import { QUEUES, RECOVERY, STEP_RETRY } from "../worker/src/topology.ts";

export interface Timeline {
  stepDelaysSeconds: number[];
  queueDelaysSeconds: number[];
  /** From the first backend call to the dead letter, calls themselves not counted. */
  horizonSeconds: number;
}

/** The retry schedule the topology implies, as a reviewer should see it. */
export function retryTimeline(): Timeline {
  const stepDelaysSeconds = Array.from(
    { length: STEP_RETRY.limit },
    (_, i) => (STEP_RETRY.delayMs / 1000) * 2 ** i,
  );
  const ladder = RECOVERY.ladderSeconds;
  const deliveries = QUEUES.recovery.consumer.maxRetries + 1;
  const queueDelaysSeconds = [
    RECOVERY.firstDelaySeconds,
    ...Array.from({ length: deliveries - 1 }, (_, i) => ladder[Math.min(i, ladder.length - 1)] ?? 0),
  ];
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    stepDelaysSeconds,
    queueDelaysSeconds,
    horizonSeconds: sum(stepDelaysSeconds) + sum(queueDelaysSeconds),
  };
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return minutes ? `${hours}h${String(minutes).padStart(2, "0")}m` : `${hours}h`;
}
