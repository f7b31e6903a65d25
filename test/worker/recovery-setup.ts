import { VALID_PAYLOADS } from "../support/payloads.ts";
import { operator, testEnv } from "./helpers.ts";

export interface FailedEvent {
  id: string;
  status: string;
  failedStep: string | null;
  remainingSteps: string[];
  lastError: string;
  replayable: boolean;
  history: { tier: string; step: string | null; outcome: string }[];
}

export const failed = async (id: string): Promise<FailedEvent | undefined> => {
  const response = await operator(`/failed-events/${id}`);
  return response.status === 200 ? ((await response.json()) as FailedEvent) : undefined;
};

/** Waits until the failed-event record reaches `status`. */
export async function until(id: string, status: string, timeoutMs = 20_000): Promise<FailedEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const event = await failed(id);
    if (event?.status === status) return event;
    if (Date.now() > deadline) throw new Error(`${id} is ${event?.status ?? "absent"}, not ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const WORKFLOW_ATTEMPTS = 4;

export const payout = VALID_PAYLOADS["payment/process-payout"].payload;

/** `count` delivered one-step events `<prefix>_<n>`, written at `at`, in one statement. */
export const storeDelivered = (prefix: string, count: number, at: number) =>
  testEnv.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     INSERT INTO events (id, name, digest, trace_id, job, state, created_at, updated_at)
     SELECT ?1 || '_' || i, 'email/verification', 'd', 't', '{}', 'delivered', ?2, ?2 FROM n`,
  )

    .bind(prefix, at, count)

    .run();
