import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { account, violations } from "../../worker/local/accounting.ts";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";
import type { EventName } from "../../worker/src/events/catalog.ts";
import { client } from "../support/client.ts";

/**
 * The whole pipeline under a failing backend, in the runtime `npm run dev` uses: N events, the
 * backend failing 30% of calls for a while and some events permanently, then an accounting
 * that every event was delivered exactly once or is dead, and none is missing.
 */
const N = Number(process.env.RECOVERY_E2E_EVENTS ?? 200);
const token = "recovery-e2e-token";
const operatorToken = "recovery-e2e-operator-token";
let backend: Backend;
let runtime: Runtime;
let state: string;

beforeAll(async () => {
  backend = await startBackend({ token });
  state = await mkdtemp(join(tmpdir(), "jobs-e2e-"));
  runtime = await startRuntime({
    authToken: token,
    operatorToken,
    backendUrl: backend.url,
    persistTo: state,
    // 1000x faster: step retries 1, 2, 4 ms; queue deliveries 0 s, 0 s, 1 s, 2 s, 3 s, ...
    retryDelayScale: 0.001,
    onLog: () => {},
  });
});
afterAll(async () => {
  await runtime?.close();
  await backend?.close();
  await rm(state, { recursive: true, force: true });
});

const names: EventName[] = [
  "email/reset-password",
  "payment/process-payout",
  "notification/create",
  "whatsapp/send-template",
];
it(`accounts for all ${N} events: delivered or dead, none missing, none both, every key the event's own`, {
  timeout: 180_000,
}, async () => {
  const events = Array.from({ length: N }, (_, i) => ({
    id: `e2e_${i}`,
    name: names[i % names.length] as EventName,
  }));
  const permanent = events.filter((_, i) => i % 40 === 7);
  for (const e of permanent) backend.addFault({ eventId: e.id, status: 422, count: 1 });
  // These outlast the workflow's 4 attempts, so the recovery queue must deliver them.
  const recovering = events.filter((_, i) => i % 40 === 13);
  for (const e of recovering) backend.addFault({ eventId: e.id, status: 500, count: 5 });
  // 30% of calls fail while the budget lasts: enough to push some events into the recovery queue.
  backend.addFault({ status: 503, rate: 0.3, count: Math.round(N * 0.6) });

  const producer = client(runtime.url, { producer: token, operator: operatorToken });
  await producer.dispatchAll(events);
  const dead = () => producer.failed("dead");

  let result = account(events, backend.calls, await dead());
  const deadline = Date.now() + 120_000;
  while (result.missing.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    result = account(events, backend.calls, await dead());
  }
  console.log(`recovery e2e accounting: ${JSON.stringify({ ...result, missing: result.missing.length })}`);

  expect(result.missing).toEqual([]);
  expect(violations(result)).toEqual([]);
  expect(result.delivered + result.dead).toBe(N);
  expect(result.dead).toBe(permanent.length);
  expect(result.deadReasons).toEqual({ "HTTP 422": permanent.length });
  expect(result.failedCalls).toBeGreaterThan(permanent.length);
  // The events forced past the workflow's 4 attempts were delivered by the recovery queue, once.
  const recovered = await producer.failed("delivered");
  console.log(`recovered through the queue: ${recovered.size}`);
  expect([...recovered.keys()]).toEqual(expect.arrayContaining(recovering.map((e) => e.id)));
});
