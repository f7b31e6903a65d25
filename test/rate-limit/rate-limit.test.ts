import { expect, it } from "vitest";
import { TEST_AUTH_TOKEN_NEXT, TEST_RATE_LIMIT } from "../support/settings.ts";
import { request } from "../worker/helpers.ts";

const post = (token?: string, tenant?: string) =>
  request("/dispatch", {
    method: "POST",
    body: JSON.stringify({ events: [] }),
    ...(token ? { token } : {}),
    ...(tenant ? { headers: { "x-tenant-id": tenant } } : {}),
  });

const statuses = async (count: number, send: () => Promise<Response>) => {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await send()).status);
  return seen;
};

it("limits each authenticated caller, and strangers cannot spend its budget", async () => {
  // Strangers are refused before the limiter.
  expect(await statuses(TEST_RATE_LIMIT * 3, () => post("wrong-token"))).toEqual(
    Array(TEST_RATE_LIMIT * 3).fill(401),
  );

  expect(await statuses(TEST_RATE_LIMIT, () => post())).toEqual(Array(TEST_RATE_LIMIT).fill(200));
  const limited = await post();
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(((await limited.json()) as { error: string }).error).toMatch(/Rate limit/);

  // Another caller (a different token) is not starved by the first.
  expect(await statuses(TEST_RATE_LIMIT, () => post(TEST_AUTH_TOKEN_NEXT))).toEqual(
    Array(TEST_RATE_LIMIT).fill(200),
  );
  expect((await post(TEST_AUTH_TOKEN_NEXT)).status).toBe(429);
});

it("gives each tenant named by a caller a budget of its own", async () => {
  expect(await statuses(TEST_RATE_LIMIT, () => post(TEST_AUTH_TOKEN_NEXT, "tenant-a"))).toEqual(
    Array(TEST_RATE_LIMIT).fill(200),
  );
  expect((await post(TEST_AUTH_TOKEN_NEXT, "tenant-a")).status).toBe(429);
  expect((await post(TEST_AUTH_TOKEN_NEXT, "tenant-b")).status).toBe(200);
  // A tenant id that cannot be a key is ignored, not trusted: it falls back to the caller's budget.
  expect((await post(TEST_AUTH_TOKEN_NEXT, "bad tenant/with spaces")).status).toBe(429);
});
