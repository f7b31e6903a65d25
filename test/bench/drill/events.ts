import type { EventName } from "../../../worker/src/events/catalog.ts";
import type { BackendHandle } from "../backend-process.ts";
import { CANCEL_DELAY_MS, CANCEL_EVERY, TIMEOUT_MS } from "./settings.ts";

export interface DrillEvent {
  id: string;
  name: EventName;
  /** Set on the events their producer delays and then cancels. */
  delayMs?: number;
}

const names: EventName[] = [
  "email/reset-password",
  "payment/process-payout",
  "notification/create",
  "whatsapp/send-template",
];

/** `n` events of four names; one in `CANCEL_EVERY` delayed, to be cancelled. */
export function drillEvents(n: number): DrillEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `drill_${i}`,
    name: names[i % names.length] as EventName,
    ...(i % CANCEL_EVERY === 11 ? { delayMs: CANCEL_DELAY_MS } : {}),
  }));
}

/** The backend's faults: some events refused for good, 503s, dropped connections and timeouts. */
export async function injectFaults(backend: BackendHandle, events: readonly DrillEvent[]): Promise<void> {
  const n = events.length;
  const permanent = events.filter((_, i) => i % 50 === 7);
  for (const e of permanent) await backend.addFault({ eventId: e.id, status: 422, count: 1 });
  await backend.addFault({ status: 503, retryAfter: "1", rate: 0.15, count: Math.round(n * 0.3) });
  await backend.addFault({ status: 0, reset: true, rate: 0.05, count: Math.round(n * 0.1) });
  await backend.addFault({
    status: 200,
    latencyMs: TIMEOUT_MS + 500,
    rate: 0.03,
    count: Math.round(n * 0.05),
  });
}
