import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import { startRuntime } from "../../worker/local/runtime.ts";

const token = "local-runtime-token";
let backend: Backend;
let state: string;
beforeAll(async () => {
  backend = await startBackend({ token });
  state = await mkdtemp(join(tmpdir(), "jobs-state-"));
});
afterAll(async () => {
  await backend.close();
  await rm(state, { recursive: true, force: true });
});

const start = () =>
  startRuntime({ authToken: token, backendUrl: backend.url, persistTo: state, onLog: () => {} });

const waitFor = async (check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return check();
};

it("resumes an in-flight workflow after a restart on the same state", async () => {
  const id = `evt_restart_${Date.now()}`;
  const event = {
    id,
    idempotencyKey: "k",
    delayMs: 3000,
    event: { name: "email/verification", data: { email: "a@b.c", otpCode: "1" } },
  };

  const sent = Date.now();
  const first = await start();
  const response = await fetch(`${first.url}/dispatch`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [event] }),
  });
  expect(await response.json()).toMatchObject({ ids: [id], instances: [{ status: "scheduled" }] });
  await first.close();
  expect(backend.calls.filter((c) => c.eventId === id)).toHaveLength(0);

  const second = await start();
  try {
    expect(await waitFor(() => backend.calls.some((c) => c.eventId === id && c.status === 200), 20_000)).toBe(
      true,
    );
    // Resumed, not restarted early: the delay still ends when it was due.
    expect((backend.calls.find((c) => c.eventId === id)?.at ?? 0) - sent).toBeGreaterThanOrEqual(3000);
    // The receipt survived too: the same batch again starts nothing.
    const again = await fetch(`${second.url}/dispatch`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [event] }),
    });
    expect(await again.json()).toMatchObject({ ids: [id] });
    await new Promise((r) => setTimeout(r, 500));
    expect(backend.calls.filter((c) => c.eventId === id)).toHaveLength(1);
  } finally {
    await second.close();
  }
});
