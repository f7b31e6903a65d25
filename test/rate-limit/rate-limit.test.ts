import { expect, it } from "vitest";
import { envelopeSdk, legacySdk } from "../support/sdk-behaviour.ts";
import { TEST_AUTH_TOKEN_NEXT, TEST_RATE_LIMIT, TEST_TENANT_RATE_LIMIT } from "../support/settings.ts";
import { request } from "../worker/helpers.ts";

// One runtime, one 60 s window: the tests share two callers' budgets and run in order.
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

it("limits each authenticated caller; strangers and other callers cannot spend its budget", async () => {
  expect(await statuses(TEST_RATE_LIMIT * 3, () => post("wrong-token"))).toEqual(
    Array(TEST_RATE_LIMIT * 3).fill(401),
  );

  expect(await statuses(TEST_RATE_LIMIT, () => post())).toEqual(Array(TEST_RATE_LIMIT).fill(200));
  const limited = await post();
  expect(limited.status).toBe(429);
  expect(limited.headers.get("retry-after")).toBe("60");
  // Both SDK generations send the same request again: nothing is lost to a rate limit.
  expect([envelopeSdk.status(limited.status), legacySdk.status(limited.status)]).toEqual(["retry", "retry"]);
  expect(((await limited.json()) as { error: string }).error).toMatch(/Rate limit/);

  // The second caller is untouched by the first one's exhaustion.
  expect((await post(TEST_AUTH_TOKEN_NEXT)).status).toBe(200);
});

it("holds each named tenant to its share, and naming new tenants cannot raise the caller's budget", async () => {
  const caller = TEST_AUTH_TOKEN_NEXT; // one request already spent above
  const share = TEST_TENANT_RATE_LIMIT;
  expect(await statuses(share, () => post(caller, "tenant-a"))).toEqual(Array(share).fill(200));
  expect((await post(caller, "tenant-a")).status).toBe(429);
  // A busy tenant-a does not starve tenant-b.
  expect(await statuses(share, () => post(caller, "tenant-b"))).toEqual(Array(share).fill(200));
  // 1 + 2 + 2 = the caller's 5: a fresh tenant name finds the caller's budget spent.
  expect((await post(caller, "tenant-c")).status).toBe(429);
  // A tenant id that cannot be a key is ignored, so it falls to the caller's budget too.
  expect((await post(caller, "bad tenant/with spaces")).status).toBe(429);
});
