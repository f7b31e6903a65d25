import { describe, expect, it } from "vitest";
import { app } from "../../worker/src/app.ts";
import { openApiDocument } from "../../worker/src/http/openapi.ts";
import {
  BulkCancelResponse,
  BulkReplayResponse,
  CancelResult,
  DispatchResponse,
  ErrorBody,
  FailedEventDetail,
  FailedEventList,
  StatusResponse,
} from "../../worker/src/operations/shapes.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { envelopeSdk, legacySdk, type Reading } from "../support/sdk-behaviour.ts";
import { TEST_MAX_EVENTS } from "../support/settings.ts";
import {
  backend,
  dispatch,
  envelope,
  legacy,
  operator,
  request,
  resetPassword,
  statusIs,
  uid,
} from "./helpers.ts";

const arabic = "شركة الأمل للتجارة";
const LABEL_RULE = "must not contain control characters, nor start or end with whitespace";

describe("values the SDKs allow", () => {
  it("accepts SDK 0.1.5's longest trace id and key, in any script, and carries them to the backend", async () => {
    const traceId = `تتبع-${"ع".repeat(251)}`;
    const idempotencyKey = `مفتاح ${"k".repeat(506)}`;
    const event = {
      ...envelope("email/reset-password", { ...resetPassword, tenantId: `  ${arabic} ` }),
      traceId,
      idempotencyKey,
    };
    expect([traceId.length, idempotencyKey.length]).toEqual([256, 512]);
    const result = await dispatch([event]);
    expect(result.errors).toBeUndefined();
    const [call] = await backend.waitForCalls(event.id, 1);
    // The reference backend decodes `UTF-8''…` the way the README says a backend should.
    expect(call).toMatchObject({ traceId, tenantId: arabic, status: 200 });
    expect(JSON.parse(call?.body ?? "{}").tenantId).toBe(`  ${arabic} `);
  });

  it("accepts a numeric tenant id and sends it as x-tenant-id", async () => {
    const event = envelope("notification/create", {
      tenantId: 42,
      userId: "u1",
      notification: { title: "Hi", message: "There" },
    });
    expect((await dispatch([event])).ids).toEqual([event.id]);
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call?.tenantId).toBe("42");
  });

  it("accepts the legacy SDK's empty strings and unchecked delays", async () => {
    const empty = {
      ...legacy("email/reset-password", { ...resetPassword, tenantName: "" }),
      traceId: "",
      idempotencyKey: "",
    };
    const fractional = { ...legacy("email/reset-password", resetPassword), delayMs: 0.5 };
    const negative = { ...legacy("email/reset-password", resetPassword), delayMs: -5 };
    const result = await dispatch([empty, fractional, negative]);
    expect(result.errors).toBeUndefined();
    expect(result.instances.map((i) => i.status)).toEqual(["queued", "scheduled", "queued"]);
    const [call] = await backend.waitForCalls(empty.id, 1);
    // An empty trace id is the event's id, as an absent one is.
    expect(call?.traceId).toBe(empty.id);
  });

  it("accepts payloads nested as deep as SDK 0.1.5 allows", async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 60; i++) deep = { nested: deep };
    const event = envelope("email/reset-password", { ...resetPassword, context: deep });
    expect((await dispatch([event])).errors).toBeUndefined();
  });

  it("encodes a plain value that looks encoded, so the prefix always means encoded", async () => {
    const event = { ...envelope("email/reset-password", resetPassword), traceId: "UTF-8''%41" };
    await dispatch([event]);
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call?.traceId).toBe("UTF-8''%41");
  });

  it("accepts whatever the legacy SDK sends (it checks nothing and only logs per-item errors)", async () => {
    const odd = {
      ...legacy("email/reset-password", { ...resetPassword, userName: "" }),
      idempotencyKey: "order-7 ",
      traceId: "t".repeat(300),
    };
    expect((await dispatch([odd])).errors).toBeUndefined();
    const [call] = await backend.waitForCalls(odd.id, 1);
    // A trace id that cannot be one travels as the event's id; the payload as sent.
    expect(call?.traceId).toBe(odd.id);
    expect(JSON.parse(call?.body ?? "{}").userName).toBe("");
  });

  it("carries a trace id cut mid-emoji (a lone surrogate) instead of failing the event", async () => {
    const event = { ...envelope("email/reset-password", resetPassword), traceId: "trace-\ud83d" };
    expect((await dispatch([event])).errors).toBeUndefined();
    const [call] = await backend.waitForCalls(event.id, 1);
    expect(call).toMatchObject({ traceId: "trace-\ufffd", status: 200 });
  });

  it.each([
    ["traceId", "t".repeat(257), "traceId: Too big: expected string to have <=256 characters"],
    ["traceId", " padded", `traceId: ${LABEL_RULE}`],
    ["traceId", "tab\there", `traceId: ${LABEL_RULE}`],
    ["idempotencyKey", "k".repeat(513), "idempotencyKey: Too big: expected string to have <=512 characters"],
    ["idempotencyKey", "key\u007f", `idempotencyKey: ${LABEL_RULE}`],
  ])("refuses what SDK 0.1.5 refuses too: %s %#", async (field, value, message) => {
    const event = { ...envelope("email/reset-password", resetPassword), [field]: value };
    const result = await dispatch([event]);
    expect(result.errors).toEqual([{ id: event.id, error: `Invalid event structure: ${message}` }]);
  });
});

/** Every per-item message the worker gives, produced by the worker itself. */
async function perItemMessages(): Promise<Map<string, string>> {
  const earlier = envelope("email/reset-password", resetPassword);
  await dispatch([earlier]);
  const twin = uid();
  const items: [label: string, item: unknown][] = [
    ["unknown event", envelope("email/unknown", resetPassword)],
    ["invalid payload", envelope("email/reset-password", { email: "ann@example.com" })],
    ["invalid item", { id: uid(), name: "email/reset-password" }],
    ["not an object", "just a string"],
    ["conflicts with an earlier event", { ...earlier, payload: { ...resetPassword, otpCode: "999999" } }],
    ["conflicts within the batch", envelope("email/reset-password", resetPassword, twin)],
    [
      "conflicts within the batch",
      envelope("email/reset-password", { ...resetPassword, userName: "Bob" }, twin),
    ],
  ];
  const label = new Map(
    items.map(([name, item]) => [typeof item === "object" ? (item as { id: string }).id : "unknown", name]),
  );
  const result = await dispatch(items.map(([, item]) => item));
  // Matched by id, as SDK 0.1.5 matches them (its failedIds), in the order of the labels.
  const messages = new Map<string, string>();
  for (const error of result.errors ?? []) messages.set(label.get(error.id) ?? "?", error.error);
  return new Map(
    [...new Set(items.map(([name]) => name))].map((name) => [name, messages.get(name) ?? "none"]),
  );
}

describe("how each SDK reads the worker's answers", () => {
  it("classifies every per-item message as the worker means it: final, about the item", async () => {
    const messages = await perItemMessages();
    const table = [...messages].map(([label, message]) => ({
      label,
      message: message.replace(/:.*$/, ":"),
      envelope: envelopeSdk.item(message),
      legacy: legacySdk.item(message),
    }));
    expect(table).toEqual([
      { label: "unknown event", message: "Unknown event:", envelope: "permanent", legacy: "logged only" },
      {
        label: "invalid payload",
        message: "Invalid event structure:",
        envelope: "permanent",
        legacy: "logged only",
      },
      {
        label: "invalid item",
        message: "Invalid event structure:",
        envelope: "permanent",
        legacy: "logged only",
      },
      {
        label: "not an object",
        message: "Invalid event structure:",
        envelope: "permanent",
        legacy: "logged only",
      },
      {
        label: "conflicts with an earlier event",
        message: "Conflicting duplicate id:",
        envelope: "permanent",
        legacy: "logged only",
      },
      {
        label: "conflicts within the batch",
        message: "Conflicting duplicate id:",
        envelope: "permanent",
        legacy: "logged only",
      },
    ]);
  });

  it("answers in a shape both read: ids always present, instances named, errors keyed by the item's id", async () => {
    const good = envelope("email/reset-password", resetPassword);
    const bad = envelope("email/unknown", resetPassword);
    const response = await request("/dispatch", {
      method: "POST",
      body: JSON.stringify({ events: [good, bad] }),
      headers: { "content-type": "application/json" },
    });
    const body = await response.json();
    expect(legacySdk.answerUsable(body)).toBe(true);
    expect(body).toMatchObject({
      ids: [good.id],
      instances: [{ id: good.id, name: "email/reset-password", status: "queued" }],
      errors: [{ id: bad.id }],
    });
  });

  it("answers whole-request trouble with statuses each SDK retries or stops on as meant", async () => {
    const post = (body: string, token?: string | null) =>
      request("/dispatch", { method: "POST", body, headers: { "content-type": "application/json" }, token });
    const tooMany = JSON.stringify({ events: Array.from({ length: TEST_MAX_EVENTS + 1 }, () => ({})) });
    const observed: [string, number][] = [
      ["not JSON", (await post("{")).status],
      ["no token", (await post("{}", null)).status],
      ["too many events", (await post(tooMany)).status],
    ];
    const reading = (status: number): [Reading, Reading] => [
      envelopeSdk.status(status),
      legacySdk.status(status),
    ];
    expect(observed.map(([label, status]) => [label, status, ...reading(status)])).toEqual([
      ["not JSON", 400, "permanent", "permanent"],
      ["no token", 401, "permanent", "permanent"],
      ["too many events", 413, "permanent", "permanent"],
    ]);
  });
});

describe("answers match the schemas the OpenAPI document is generated from", () => {
  it("dispatch, status, cancel and the operator API", async () => {
    const event = {
      ...envelope("email/cart-recovery", VALID_PAYLOADS["email/cart-recovery"].payload),
      scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const json = async (response: Promise<Response>) => (await response).json();
    const post = (path: string, body?: unknown, token?: string) =>
      request(path, {
        method: "POST",
        ...(body ? { body: JSON.stringify(body) } : {}),
        ...(token ? { token } : {}),
      });
    DispatchResponse.parse(await json(post("/dispatch", { events: [event, { id: "x" }] })));
    StatusResponse.parse(await json(request(`/status/${event.id}`)));
    CancelResult.parse(await json(post(`/events/${event.id}/cancel`)));
    BulkCancelResponse.parse(await json(post("/events/cancel", { ids: [event.id, uid()] })));
    ErrorBody.parse(await json(post(`/events/${uid()}/cancel`)));
    const dead = envelope("email/reset-password", resetPassword);
    await backend.fault({ eventId: dead.id, status: 422, count: 1 });
    await dispatch([dead]);
    await statusIs(dead.id, "dead");
    FailedEventList.parse(await json(operator("/failed-events?status=dead&limit=5")));
    FailedEventDetail.parse(await json(operator(`/failed-events/${dead.id}`)));
    BulkReplayResponse.parse(
      await json(
        operator("/failed-events/replay", { method: "POST", body: JSON.stringify({ dryRun: true }) }),
      ),
    );
  });
});

describe("GET /openapi.json", () => {
  it("serves the generated document without a token", async () => {
    const response = await request("/openapi.json", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(openApiDocument());
  });

  it("describes every route the worker serves, with its methods", () => {
    const served = app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, "{$1}")}`);
    const documented = Object.entries(openApiDocument().paths as Record<string, object>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(new Set(served).size).toBeGreaterThan(8);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });
});
