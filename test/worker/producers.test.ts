import { describe, expect, it } from "vitest";
import { backend, dispatch, envelope, legacy, resetPassword } from "./helpers.ts";
import { arabic, LABEL_RULE } from "./producers-setup.ts";

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
