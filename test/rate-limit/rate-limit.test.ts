import { expect, it } from "vitest";
import { TEST_RATE_LIMIT } from "../support/settings.ts";
import { request } from "../worker/helpers.ts";

const post = (token?: string) =>
  request("/dispatch", { method: "POST", body: JSON.stringify({ events: [] }), ...(token ? { token } : {}) });

it("answers 429 with Retry-After once an authenticated caller passes its limit", async () => {
  // Strangers are refused before the limiter, so they cannot spend the caller's budget.
  for (let i = 0; i < TEST_RATE_LIMIT * 3; i++) expect((await post("wrong-token")).status).toBe(401);

  const statuses: number[] = [];
  for (let i = 0; i < TEST_RATE_LIMIT + 1; i++) statuses.push((await post()).status);
  expect(statuses.slice(0, TEST_RATE_LIMIT)).toEqual(Array(TEST_RATE_LIMIT).fill(200));
  const limited = await post();
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(((await limited.json()) as { error: string }).error).toMatch(/Rate limit/);
});
