import { describe, expect, it } from "vitest";
import { app } from "../../worker/src/app.ts";
import { backendRequest, callBackend } from "../../worker/src/backend/client.ts";
import { CATALOG, type EventName, stepsOf } from "../../worker/src/events/catalog.ts";
import type { JobParams } from "../../worker/src/events/job.ts";
import { SIGNATURE_HEADER, sign, verify } from "../../worker/src/signing.ts";
import { LIMITS } from "../../worker/src/topology.ts";
import {
  TEST_AUTH_TOKEN,
  TEST_AUTH_TOKEN_NEXT,
  TEST_SECRETS,
  TEST_SIGNING_SECRET,
} from "../support/settings.ts";
import vectorFile from "../vectors/signatures.json";
import { backend, dispatch, envelope, request, resetPassword, testEnv } from "./helpers.ts";

const job: JobParams = {
  id: "evt_sec",
  name: "email/reset-password",
  payload: resetPassword,
  traceId: "trace",
  idempotencyKey: "key",
  createdAt: "2026-11-21T00:00:00Z",
};

describe("signed callbacks", () => {
  it.each(vectorFile.vectors)(
    "signs vector '$name' in workerd exactly as the vectors say",
    async (vector) => {
      expect(await sign(vector.secret, vector.timestamp, vector, vector.nonce)).toBe(vector.header);
      expect(
        await verify(vector.header, vector, { secrets: [vector.secret], now: vector.timestamp }),
      ).toMatchObject({ ok: true });
    },
  );

  it("signs every backend call, and the reference backend verifies it", async () => {
    const event = envelope("payment/process-payout", {
      tenantId: "t",
      transactionId: "x",
      walletId: "w",
      amount: "1",
      currency: "USD",
    });
    await dispatch([event]);
    const calls = await backend.waitForCalls(event.id, 3);
    expect(calls.map((c) => c.signature)).toEqual(["ok", "ok", "ok"]);
  });

  it("binds the signature to this request's path, event and body", async () => {
    const signed = await backendRequest(testEnv, job, "email/reset-password");
    const body = await signed.text();
    const header = signed.headers.get(SIGNATURE_HEADER);
    const sent = {
      method: "POST",
      path: new URL(signed.url).pathname,
      eventId: job.id,
      idempotencyKey: `${job.id}:email/reset-password`,
      tenantId: null,
      body,
    };
    const options = { secrets: [TEST_SIGNING_SECRET] };
    expect(await verify(header, sent, options)).toMatchObject({ ok: true });
    const changes = [
      { eventId: "evt_other" },
      { path: `${sent.path}x` },
      { idempotencyKey: "other" },
      { tenantId: "t" },
    ];
    for (const change of changes) {
      expect(await verify(header, { ...sent, ...change }, options)).toMatchObject({
        ok: false,
        reason: "mismatch",
      });
    }
  });

  it("sends no signature when no signing secret is set", async () => {
    const unsigned = await backendRequest(
      { ...testEnv, SIGNING_SECRET: undefined },
      job,
      "email/reset-password",
    );
    expect(unsigned.headers.has(SIGNATURE_HEADER)).toBe(false);
  });
});

describe("token rotation", () => {
  const post = (token: string, env = testEnv) =>
    app.fetch(
      new Request("https://jobs.test/dispatch", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ events: [] }),
      }),
      env,
    );

  it("accepts the current and the next token during the overlap", async () => {
    expect((await post(TEST_AUTH_TOKEN)).status).toBe(200);
    expect((await post(TEST_AUTH_TOKEN_NEXT)).status).toBe(200);
  });

  it("rejects the old token once the next one becomes current", async () => {
    const rotated = { ...testEnv, AUTH_TOKEN: TEST_AUTH_TOKEN_NEXT, AUTH_TOKEN_NEXT: undefined };
    expect((await post(TEST_AUTH_TOKEN, rotated)).status).toBe(401);
    expect((await post(TEST_AUTH_TOKEN_NEXT, rotated)).status).toBe(200);
  });
});

describe("hostile input", () => {
  it.each([
    "../admin",
    "email/../../etc/passwd",
    "email/%2e%2e/secret",
    "email/reset-password?x=1",
    "https://evil.example/x",
    "//evil.example/x",
    "email\\reset-password",
    "EMAIL/RESET-PASSWORD",
  ])("rejects the event name %s as unknown", async (name) => {
    const event = envelope(name, resetPassword);
    const result = await dispatch([event]);
    expect(result.ids).toEqual([]);
    expect(result.errors?.[0]?.error).toMatch(/^Unknown event/);
  });

  it("only ever calls safe paths, and refuses an unsafe one without sending it", async () => {
    const names = Object.keys(CATALOG) as EventName[];
    for (const name of names) {
      for (const step of stepsOf(name))
        expect((await backendRequest(testEnv, job, step)).url).toContain(`/workflows/execute/${step}`);
    }
    for (const step of ["../x", "a/../b", "a/%2e%2e", "a?b", "/abs", "a//b", "https://x", "a\\b", ""]) {
      await expect(backendRequest(testEnv, job, step)).rejects.toThrow(/unsafe backend path/);
      expect(await callBackend(testEnv, job, step)).toMatchObject({ kind: "dead" });
    }
  });

  it("bounds payload depth and size per event", async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < LIMITS.payloadDepth + 1; i++) deep = { nested: deep };
    const tooDeep = envelope("email/reset-password", { ...resetPassword, deep });
    const tooBig = envelope("email/reset-password", {
      ...resetPassword,
      blob: "x".repeat(LIMITS.payloadBytes),
    });
    const result = await dispatch([tooDeep, tooBig]);
    expect(result.ids).toEqual([]);
    expect(result.errors?.map((e) => e.error)).toEqual([
      expect.stringMatching(new RegExp(`nests deeper than ${LIMITS.payloadDepth} levels`)),
      expect.stringMatching(/payload is \d+ bytes, more than 262144/),
    ]);
  });

  it("never echoes a token or a payload value in an error", async () => {
    const leaky = {
      ...envelope("email/reset-password", { ...resetPassword, otpCode: 123456 }),
      id: "bad id",
    };
    const responses = [
      await request("/dispatch", { method: "POST", body: "{", token: TEST_AUTH_TOKEN_NEXT }),
      await request("/dispatch", { method: "POST", body: JSON.stringify({ events: [leaky] }) }),
      await request("/dispatch", { method: "POST", body: "{}", token: `${TEST_AUTH_TOKEN}x` }),
      await request("/status/evt_nope"),
    ];
    for (const response of responses) {
      const text = await response.text();
      for (const secret of TEST_SECRETS) expect(text).not.toContain(secret);
      expect(text).not.toContain("123456");
      expect(response.headers.get("content-type")).toMatch(/application\/json/);
    }
  });
});
