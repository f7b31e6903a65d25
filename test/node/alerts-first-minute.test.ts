import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";
import { client } from "../support/client.ts";

/**
 * A new user's first minute, in the runtime `npm run dev` uses, on fresh state: events that die
 * within seconds of the start, before the first scheduled check, are alerted (alerting starts
 * at the start, as a stack's starts at its deploy).
 */
const token = "alerts-first-minute-token";
const operatorToken = "alerts-first-minute-operator-token";
let backend: Backend;
let runtime: Runtime;
let state: string;

beforeAll(async () => {
  backend = await startBackend({ token });
  state = await mkdtemp(join(tmpdir(), "jobs-alerts-"));
  runtime = await startRuntime({
    authToken: token,
    operatorToken,
    backendUrl: backend.url,
    persistTo: state,
    alertWebhookUrl: `${backend.url}/control/alerts`,
    // The first check comes well after the deaths below.
    scheduledIntervalMs: 3000,
    vars: { ALERT_DEAD_EVENTS: "3" },
    onLog: () => {},
  });
});
afterAll(async () => {
  await runtime?.close();
  await backend?.close();
  await rm(state, { recursive: true, force: true });
});

it("alerts on three events that die before the first scheduled check", { timeout: 60_000 }, async () => {
  const api = client(runtime.url, { producer: token, operator: operatorToken });
  const ids = ["first_dead_1", "first_dead_2", "first_dead_3"];
  for (const id of ids) backend.addFault({ eventId: id, status: 422 });
  await api.dispatchAll(ids.map((id) => ({ id, name: "email/reset-password" })));
  const until = Date.now() + 20_000;
  while ((await api.failed("dead")).size < ids.length && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  expect([...(await api.failed("dead")).keys()].sort()).toEqual(ids);

  const deadline = Date.now() + 20_000;
  while (backend.alerts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const bodies = backend.alerts.map((a) => a.body as { alert?: { condition: string; deadEvents?: number } });
  // The first check came after the deaths: alerting started with the runtime, not with it.
  expect(bodies.map((b) => b.alert)).toContainEqual(
    expect.objectContaining({ condition: "dead-events", status: "firing", deadEvents: 3 }),
  );
});
