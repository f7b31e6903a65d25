import { expect, it } from "vitest";
import { account, violations } from "../../worker/local/accounting.ts";
import type { Call } from "../../worker/local/backend-api.ts";

const call = (eventId: string, path: string, status: number, key = `${eventId}:${path}`): Call => ({
  path,
  eventId,
  traceId: "t",
  idempotencyKey: key,
  tenantId: null,
  body: "{}",
  authorized: true,
  signature: null,
  status,
  performed: false,
  at: 0,
});

it("counts what a backend without deduplication would have performed twice", () => {
  const calls = [
    call("a", "email/verification", 200),
    call("a", "email/verification", 200), // the answer was lost, the retry repeated it
    call("b", "email/verification", 503),
    call("b", "email/verification", 200),
  ];
  const result = account(
    [
      { id: "a", name: "email/verification" },
      { id: "b", name: "email/verification" },
    ],
    calls,
    new Map(),
  );
  expect(result).toMatchObject({ delivered: 2, redundantDeliveries: 1, failedCalls: 1, missing: [] });
  expect(violations(result)).toEqual([]);
});

it("fails on a missing event, an event delivered and dead, and a key that is not the event's", () => {
  const result = account(
    [
      { id: "a", name: "email/verification" },
      { id: "b", name: "email/verification" },
      { id: "c", name: "email/verification" },
    ],
    [call("a", "email/verification", 200), call("c", "email/verification", 200, "some-other-key")],
    new Map([["a", "HTTP 422"]]),
  );
  expect(result.deliveredAndDead).toEqual(["a"]);
  expect(result.missing).toEqual(["b", "c"]);
  expect(violations(result)).toEqual([
    "2 accepted events neither delivered nor dead",
    "1 events both delivered and dead",
    "1 calls with a key that is not <event id>:<step>",
  ]);
});
