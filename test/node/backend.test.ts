import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";

const token = "reference-backend-token";
let backend: Backend;
beforeAll(async () => {
  backend = await startBackend({ token });
});
afterAll(() => backend.close());

const execute = (path: string, key: string, init: { token?: string; eventId?: string; body?: string } = {}) =>
  fetch(`${backend.url}/workflows/execute/${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${init.token ?? token}`,
      "idempotency-key": key,
      "x-workflow-event-id": init.eventId ?? "evt",
      "content-type": "application/json",
    },
    body: init.body ?? "{}",
  });
const control = (path: string, init: RequestInit = {}) =>
  fetch(`${backend.url}/control/${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });

describe("reference backend", () => {
  it("rejects a wrong token and records the attempt", async () => {
    expect((await execute("email/x", "k-auth", { token: "nope", eventId: "evt_auth" })).status).toBe(401);
    expect(backend.calls.find((c) => c.eventId === "evt_auth")).toMatchObject({
      authorized: false,
      status: 401,
    });
    expect((await fetch(`${backend.url}/control/calls`)).status).toBe(401);
  });

  it("performs an idempotency key once however often it is called", async () => {
    const first = await execute("email/x", "k-once");
    const second = await execute("email/x", "k-once");
    expect(await first.json()).toEqual({ ok: true });
    expect(await second.json()).toEqual({ ok: true, duplicate: true });
    expect(backend.executions.get("k-once")?.path).toBe("email/x");
  });

  it("refuses a call without an Idempotency-Key or with a body that is not JSON", async () => {
    expect((await execute("email/x", "")).status).toBe(422);
    expect((await execute("email/x", "k-json", { body: "{" })).status).toBe(422);
  });

  it("fails by event id for a number of calls, then recovers", async () => {
    await control("faults", {
      method: "POST",
      body: JSON.stringify({ eventId: "evt_f", status: 503, count: 2, retryAfter: "3" }),
    });
    const a = await execute("email/x", "k-f", { eventId: "evt_f" });
    expect(a.status).toBe(503);
    expect(a.headers.get("retry-after")).toBe("3");
    expect((await execute("email/x", "k-f", { eventId: "evt_f" })).status).toBe(503);
    expect((await execute("email/x", "k-f", { eventId: "evt_f" })).status).toBe(200);
    expect((await execute("email/x", "k-other", { eventId: "evt_other" })).status).toBe(200);
  });

  it("fails by path and adds latency", async () => {
    await control("faults", {
      method: "POST",
      body: JSON.stringify({ path: "slow/path", status: 200, latencyMs: 200, count: 1 }),
    });
    const started = Date.now();
    expect((await execute("slow/path", "k-slow")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await control("faults", { method: "POST", body: JSON.stringify({ path: "bad/path", status: 422 }) });
    expect((await execute("bad/path", "k-bad")).status).toBe(422);
    await control("faults", { method: "DELETE" });
    expect((await execute("bad/path", "k-bad")).status).toBe(200);
  });

  it("can drop the connection without an answer", async () => {
    backend.addFault({ eventId: "evt_reset", status: 0, reset: true, count: 1 });
    await expect(execute("email/x", "k-reset", { eventId: "evt_reset" })).rejects.toThrow();
    expect(backend.calls.find((c) => c.eventId === "evt_reset")?.status).toBe(-1);
    expect((await execute("email/x", "k-reset", { eventId: "evt_reset" })).status).toBe(200);
  });

  it("receives alerts without a token, as a webhook does, and lists them only with one", async () => {
    const post = (body: string) =>
      fetch(`${backend.url}/control/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    expect((await post(JSON.stringify({ text: "FIRING [dev] Dead events" }))).status).toBe(200);
    expect((await post("{")).status).toBe(400);
    expect((await fetch(`${backend.url}/control/alerts`)).status).toBe(401);
    const body = (await (await control("alerts")).json()) as { alerts: { body: unknown }[] };
    expect(body.alerts.map((a) => a.body)).toEqual([{ text: "FIRING [dev] Dead events" }]);
    expect(backend.alerts).toHaveLength(1);
  });

  it("lists calls for one event", async () => {
    const body = (await (await control("calls?eventId=evt_f")).json()) as { calls: { status: number }[] };
    expect(body.calls.map((c) => c.status)).toEqual([503, 503, 200]);
  });
});
