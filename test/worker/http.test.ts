import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/src/app.ts";
import { LIMITS } from "../../worker/src/topology.ts";
import { TEST_MAX_EVENTS } from "../support/settings.ts";
import { envelope, request, resetPassword, testEnv } from "./helpers.ts";

const post = (body: BodyInit, init: { token?: string | null; headers?: HeadersInit } = {}) =>
  request("/dispatch", { method: "POST", body, ...init });

describe("GET /health", () => {
  it("answers ok without credentials", async () => {
    const response = await request("/health", { token: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

describe("authentication", () => {
  it.each([
    ["no Authorization header", null],
    ["a wrong token", "not-the-token"],
    ["a token that is a prefix of the real one", "test-dispatch"],
  ])("rejects %s with 401", async (_, token) => {
    const response = await post(JSON.stringify({ events: [] }), { token });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "Unauthorized" });
  });

  it("rejects a non-Bearer scheme", async () => {
    const response = await exports.default.fetch(
      new Request("https://jobs.test/dispatch", {
        method: "POST",
        headers: { authorization: "Basic dGVzdDp0ZXN0" },
        body: "{}",
      }),
    );
    expect(response.status).toBe(401);
  });

  it("fails closed with 500 when no token is configured", async () => {
    const response = await app.fetch(
      new Request("https://jobs.test/dispatch", {
        method: "POST",
        body: "{}",
        headers: { authorization: "Bearer x" },
      }),
      { ...testEnv, AUTH_TOKEN: undefined, AUTH_TOKEN_NEXT: undefined },
    );
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: string };
    expect(body.error).toMatch(/no dispatch token/);
  });

  it("protects /status", async () => {
    expect((await request("/status/evt_1", { token: null })).status).toBe(401);
  });
});

describe("POST /dispatch envelope errors", () => {
  it.each([
    ["not JSON", "{events:", /not valid JSON/],
    ["JSON without events", JSON.stringify({ items: [] }), /`events` array/],
    ["events that is not an array", JSON.stringify({ events: {} }), /`events` array/],
    ["a JSON array", JSON.stringify([]), /`events` array/],
  ])("answers 400 for %s", async (_, body, message) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(message);
  });

  it("answers 400 for invalid UTF-8", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const response = await post(bytes);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/UTF-8/);
  });

  it("answers 413 for a declared body over 1 MiB without reading it", async () => {
    const response = await post("{}", { headers: { "content-length": String(LIMITS.bodyBytes + 1) } });
    expect(response.status).toBe(413);
  });

  it("answers 413 for a streamed body over 1 MiB that declares no length", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > LIMITS.bodyBytes) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await post(body);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toMatch(/exceeds 1048576 bytes/);
  });

  it("accepts a body of exactly 1 MiB", async () => {
    const event = envelope("email/reset-password", resetPassword);
    const json = JSON.stringify({ events: [event] });
    const padded = `${json.slice(0, -1)}${" ".repeat(LIMITS.bodyBytes - json.length)}}`;
    expect(new TextEncoder().encode(padded).byteLength).toBe(LIMITS.bodyBytes);
    const response = await post(padded);
    expect(response.status).toBe(200);
  });

  it("answers 413 for more events than the configured maximum", async () => {
    const events = Array.from({ length: TEST_MAX_EVENTS + 1 }, () => ({}));
    const response = await post(JSON.stringify({ events }));
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toMatch(/Too many events/);
  });

  it("answers 404 with JSON for an unknown route", async () => {
    const response = await request("/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Not found" });
  });
});
