import { describe, expect, it } from "vitest";
import { openSession, readSession } from "../../worker/src/console/session.ts";
import { TEST_AUTH_TOKEN, TEST_OPERATOR_TOKEN } from "../support/settings.ts";
import { request, storeEvent, testEnv, uid } from "./helpers.ts";

const ORIGIN = "https://jobs.test";
const signIn = (token: string, headers: Record<string, string> = { origin: ORIGIN }) =>
  request("/console/sign-in", {
    method: "POST",
    token: null,
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ token }).toString(),
  });

async function session(): Promise<{ cookie: string; csrf: string }> {
  const response = await signIn(TEST_OPERATOR_TOKEN);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const page = await (await request("/console", { token: null, headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  return { cookie, csrf };
}

describe("console session", () => {
  it("sets a Secure, __Host- prefixed, HttpOnly, SameSite=Strict, expiring cookie outside localhost", async () => {
    const response = await signIn(TEST_OPERATOR_TOKEN);
    expect(response.status).toBe(303);
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(
      /^__Host-jobs_console=[^;]+; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(cookie).not.toContain(TEST_OPERATOR_TOKEN);
  });

  it("refuses a producer token, a cross-site sign-in and a forged or expired cookie", async () => {
    expect((await signIn(TEST_AUTH_TOKEN)).status).toBe(401);
    expect((await signIn(TEST_OPERATOR_TOKEN, { origin: "https://evil.test" })).status).toBe(403);
    expect((await signIn(TEST_OPERATOR_TOKEN, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    const now = Date.now();
    const value = await openSession(testEnv, now);
    expect(await readSession(testEnv, value, now)).toBeDefined();
    expect(await readSession(testEnv, value, now + 8 * 3600 * 1000 + 1)).toBeUndefined();
    const forged = `${value.slice(0, -2)}${value.endsWith("A") ? "BB" : "AA"}`;
    expect(await readSession(testEnv, forged, now)).toBeUndefined();
    const later = `${now + 10 * 3600 * 1000}${value.slice(value.indexOf("."))}`;
    expect(await readSession(testEnv, later, now)).toBeUndefined();
    const page = await request("/console", {
      token: null,
      headers: { cookie: `__Host-jobs_console=${forged}` },
    });
    // Sent to sign in (whether or not this fetch followed the redirect).
    const landed = page.status === 303 ? page.headers.get("location") : new URL(page.url).pathname;
    expect(landed).toBe("/console/sign-in");
    expect(await page.text()).not.toContain("Overview");
  });

  it("needs the session's CSRF token on every state-changing form", async () => {
    const { cookie, csrf } = await session();
    expect(csrf).not.toBe("");
    const post = (body: Record<string, string>) =>
      request("/console/sign-out", {
        method: "POST",
        token: null,
        redirect: "manual",
        headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body).toString(),
      });
    expect((await post({ csrf: "forged" })).status).toBe(403);
    expect((await post({})).status).toBe(403);
    expect((await post({ csrf })).status).toBe(303);
  });

  it("serves pages that load nothing from elsewhere and cannot be framed", async () => {
    const { cookie } = await session();
    const response = await request("/console/failed", { token: null, headers: { cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

describe("console actions", () => {
  const form = (cookie: string, body: Record<string, string | string[]>) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) for (const v of [value].flat()) params.append(key, v);
    return {
      method: "POST",
      token: null,
      redirect: "manual",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: params.toString(),
    } as const;
  };
  /** A dead email/verification event as the workflow leaves it, with this code in its payload. */
  const deadEvent = async (otpCode = "1") => {
    const id = uid("console");
    const job = {
      id,
      name: "email/verification",
      payload: { email: "a@b.c", otpCode },
      traceId: id,
      idempotencyKey: id,
      createdAt: new Date().toISOString(),
    };
    await storeEvent({
      id,
      job,
      state: "dead",
      failedAt: Date.now(),
      remainingSteps: ["email/verification"],
    });
    return id;
  };
  const stateOf = async (id: string) =>
    (await testEnv.DB.prepare("SELECT state FROM events WHERE id = ?1").bind(id).first<{ state: string }>())
      ?.state;

  it("refuses a same-origin action without the session's CSRF token, and takes it with", async () => {
    const { cookie, csrf } = await session();
    const id = await deadEvent();
    expect((await request(`/console/events/${id}/discard`, form(cookie, {}))).status).toBe(403);
    expect((await request(`/console/events/${id}/discard`, form(cookie, { csrf: `${csrf}x` }))).status).toBe(
      403,
    );
    const other = await deadEvent();
    expect(
      (await request("/console/replay/run", form(cookie, { csrf: "nope", id: [id, other] }))).status,
    ).toBe(403);
    expect([await stateOf(id), await stateOf(other)]).toEqual(["dead", "dead"]);

    const done = await request(`/console/events/${id}/discard`, form(cookie, { csrf }));
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/console/events/${id}?done=discard`);
    expect(await stateOf(id)).toBe("discarded");
    // Submitted twice: the event moved on; the operator is told so, nothing else happens.
    const again = await request(`/console/events/${id}/discard`, form(cookie, { csrf }));
    expect(again.headers.get("location")).toBe(`/console/events/${id}?moved=1`);
    expect(await stateOf(id)).toBe("discarded");
  });

  it("shows an orphan record (a recovery message with no event) without failing", async () => {
    const { cookie } = await session();
    const id = uid("orphan");
    await storeEvent({ id, job: null, state: "dead", failedAt: Date.now() });
    await testEnv.DB.prepare("UPDATE events SET name = 'unknown' WHERE id = ?1").bind(id).run();
    const page = await request(`/console/events/${id}`, { token: null, headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Not kept");
  });

  it("masks an event's secret values in its error text on the page and in the look-up", async () => {
    const { cookie } = await session();
    const id = await deadEvent("771133");
    await testEnv.DB.prepare("UPDATE events SET last_error = 'HTTP 422: otp 771133 rejected' WHERE id = ?1")
      .bind(id)
      .run();
    for (const path of [`/console/events/${id}`, "/console/failed?status=dead", `/console/lookup?id=${id}`]) {
      const page = await (await request(path, { token: null, headers: { cookie } })).text();
      expect(page, path).not.toContain("771133");
      expect(page, path).toContain("otp •••••• rejected");
    }
  });
});
