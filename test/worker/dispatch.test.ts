import { describe, expect, it } from "vitest";
import { CATALOG, type EventName } from "../../worker/src/events/catalog.ts";
import { contentDigest } from "../../worker/src/events/digest.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import {
  backend,
  dispatch,
  envelope,
  legacy,
  request,
  resetPassword,
  settled,
  storeEvent,
  testEnv,
} from "./helpers.ts";

const events = Object.keys(CATALOG) as EventName[];

describe("POST /dispatch items", () => {
  it("accepts both producer shapes in one batch and starts each", async () => {
    const a = envelope("email/reset-password", resetPassword);
    const b = legacy("email/verification", { email: "ann@example.com", otpCode: "1" });
    const result = await dispatch([a, b]);
    expect(result).toEqual({
      ids: [a.id, b.id],
      instances: [
        { id: a.id, name: "email/reset-password", status: "queued" },
        { id: b.id, name: "email/verification", status: "queued" },
      ],
    });
    expect((await settled(a.id)).status).toBe("complete");
    expect((await settled(b.id)).status).toBe("complete");
  });

  it.each(events)("accepts a valid %s in either shape", async (name) => {
    const { payload } = VALID_PAYLOADS[name];
    const result = await dispatch([envelope(name, payload), legacy(name, payload)]);
    expect(result.errors).toBeUndefined();
    expect(result.ids).toHaveLength(2);
  });

  it.each(events)("rejects %s without its required field, naming it", async (name) => {
    const { payload, required } = VALID_PAYLOADS[name];
    const { [required]: _, ...broken } = payload;
    const bad = envelope(name, broken);
    const result = await dispatch([bad]);
    expect(result.ids).toEqual([]);
    expect(result.errors).toEqual([
      {
        id: bad.id,
        error: expect.stringMatching(new RegExp(`^Invalid event structure: payload\\.${required}`)),
      },
    ]);
    const status = await testEnv[workflowBinding(name)].get(bad.id).catch(() => undefined);
    expect(status).toBeUndefined();
  });

  it("names the legacy payload path in errors", async () => {
    const bad = legacy("email/reset-password", { email: "a@b.c", userName: "Ann" });
    const result = await dispatch([bad]);
    expect(result.errors?.[0]?.error).toMatch(/event\.data\.otpCode/);
  });

  it("rejects wrong field types", async () => {
    const bad = envelope("email/trial-reminder", {
      ...VALID_PAYLOADS["email/trial-reminder"].payload,
      planPrice: "29",
    });
    expect((await dispatch([bad])).errors?.[0]?.error).toMatch(/payload\.planPrice/);
  });

  it("passes unknown extra fields through to the backend", async () => {
    const event = envelope("email/reset-password", { ...resetPassword, locale: "pt-BR" });
    await dispatch([event]);
    expect((await settled(event.id)).status).toBe("complete");
  });

  it("reports an unknown event by name and keeps the rest of the batch", async () => {
    const good = envelope("email/reset-password", resetPassword);
    const unknown = envelope("something/unsupported", {});
    const result = await dispatch([unknown, good]);
    expect(result.ids).toEqual([good.id]);
    expect(result.errors).toEqual([{ id: unknown.id, error: "Unknown event: something/unsupported" }]);
  });

  it.each([
    ["a string", "oops"],
    ["null", null],
    ["an item of neither shape", { id: "evt_x" }],
    ["an id with a slash", { ...envelope("email/reset-password", resetPassword), id: "../etc" }],
    [
      "an id over 100 characters",
      { ...envelope("email/reset-password", resetPassword), id: "a".repeat(101) },
    ],
  ])("rejects %s as an invalid structure", async (_, item) => {
    const result = await dispatch([item]);
    expect(result.ids).toEqual([]);
    expect(result.errors?.[0]?.error).toMatch(/^Invalid event structure/);
  });

  it.each(["batch", "terminate", "terminateAll", `cf_${"a".repeat(64)}`])(
    "rejects the reserved id %s without failing the rest of the batch",
    async (id) => {
      const good = envelope("email/reset-password", resetPassword);
      const result = await dispatch([{ ...envelope("email/reset-password", resetPassword), id }, good]);
      expect(result.ids).toEqual([good.id]);
      expect(result.errors?.[0]?.error).toMatch(/^Invalid event structure: id: is reserved/);
    },
  );

  it("bounds envelope metadata", async () => {
    const big = {
      ...envelope("email/reset-password", resetPassword),
      metadata: { blob: "x".repeat(16 * 1024) },
    };
    expect((await dispatch([big])).errors?.[0]?.error).toMatch(
      /^Invalid event structure: metadata: must be at most 16384 bytes/,
    );
  });

  it("uses `unknown` when an item has no readable id", async () => {
    const result = await dispatch([{ name: "email/reset-password" }, { id: "bad id!" }]);
    expect(result.errors?.map((e) => e.id)).toEqual(["unknown", "unknown"]);
  });

  it("rejects a trace id with control characters (no header injection)", async () => {
    const bad = { ...envelope("email/reset-password", resetPassword), traceId: "a\r\nInjected: 1" };
    expect((await dispatch([bad])).errors?.[0]?.error).toBe(
      "Invalid event structure: traceId: must not contain control characters, nor start or end with whitespace",
    );
  });
});

describe("re-sends", () => {
  it("accepts an exact re-send and starts nothing new", async () => {
    const batch = [
      envelope("email/reset-password", resetPassword),
      legacy("payment/process-payout", VALID_PAYLOADS["payment/process-payout"].payload),
    ];
    const first = await dispatch(batch);
    const second = await dispatch(batch);
    expect(second.ids).toEqual(first.ids);
    expect(second.errors).toBeUndefined();
    // A re-send says what its instance says by now: still queued, running, or already done.
    for (const { status } of second.instances) expect(["queued", "running", "complete"]).toContain(status);
    for (const { id } of first.instances) expect((await settled(id)).status).toBe("complete");
    // One call per backend step despite two dispatches.
    expect(await backend.calls(batch[0]?.id as string)).toHaveLength(1);
    expect(await backend.calls(batch[1]?.id as string)).toHaveLength(3);
  });

  it("treats key order as the same content", async () => {
    const event = envelope("email/reset-password", resetPassword);
    const reordered = Object.fromEntries(Object.entries(event).reverse());
    await dispatch([event]);
    const again = await dispatch([reordered]);
    expect(again.errors).toBeUndefined();
    expect(again.ids).toEqual([event.id]);
  });

  it("rejects the same id with different content", async () => {
    const event = envelope("email/reset-password", resetPassword);
    await dispatch([event]);
    const changed = { ...event, payload: { ...resetPassword, otpCode: "999999" } };
    const result = await dispatch([changed]);
    expect(result.ids).toEqual([]);
    expect(result.errors).toEqual([
      { id: event.id, error: expect.stringMatching(/^Conflicting duplicate id/) },
    ]);
  });

  it("collapses a duplicate inside one batch and rejects a conflicting one", async () => {
    const event = envelope("email/reset-password", resetPassword);
    const conflicting = { ...event, payload: { ...resetPassword, userName: "Bob" } };
    const result = await dispatch([event, event, conflicting]);
    expect(result.ids).toEqual([event.id]);
    expect(result.errors).toEqual([
      { id: event.id, error: expect.stringMatching(/^Conflicting duplicate id/) },
    ]);
    await settled(event.id);
    expect(await backend.calls(event.id)).toHaveLength(1);
  });

  it("answers a re-send as accepted while the first request's creation is still under way", async () => {
    const event = envelope("email/reset-password", resetPassword);
    // Recorded and claimed by a request that has not created the instance yet.
    await storeEvent({
      id: event.id,
      job: { ...event, createdAt: event.createdAt, traceId: event.traceId },
      state: "accepted",
      digest: await contentDigest(event),
      dueAt: Date.now() + 60_000,
    });
    const result = await dispatch([event]);
    expect(result).toEqual({
      ids: [event.id],
      instances: [{ id: event.id, name: "email/reset-password", status: "queued" }],
    });
    expect(((await (await request(`/status/${event.id}`)).json()) as { status: string }).status).toBe(
      "queued",
    );
  });

  it("answers two simultaneous requests with the same ids alike and starts each event once", async () => {
    const events = Array.from({ length: 20 }, () =>
      envelope("email/verification", { email: "a@b.c", otpCode: "1" }),
    );
    const [a, b] = await Promise.all([dispatch(events), dispatch(events)]);
    expect(a).toEqual(b);
    expect(a.ids).toEqual(events.map((e) => e.id));
    for (const e of events) await settled(e.id);
    await new Promise((r) => setTimeout(r, 200));
    for (const e of events) expect(await backend.calls(e.id)).toHaveLength(1);
  });
});

describe("batches above the createBatch ceiling", () => {
  it("starts all 250 events of a mixed batch", async () => {
    const names = ["email/verification", "notification/create", "whatsapp/send-template"] as const;
    const batch = Array.from({ length: 250 }, (_, i) => {
      const name = names[i % names.length] as EventName;
      return i % 2 === 0
        ? envelope(name, VALID_PAYLOADS[name].payload)
        : legacy(name, VALID_PAYLOADS[name].payload);
    });
    const result = await dispatch(batch);
    expect(result.errors).toBeUndefined();
    expect(result.ids).toEqual(batch.map((e) => e.id));
    for (const event of batch) {
      // Created after the answer, paced under the platform's creation rate.
      expect((await settled(event.id)).status).toBe("complete");
    }
  });
});

function workflowBinding(name: EventName) {
  const kind = CATALOG[name].workflow;
  return (
    {
      email: "EMAIL_WORKFLOW",
      notification: "NOTIFICATION_WORKFLOW",
      payment: "PAYMENT_WORKFLOW",
      whatsapp: "WHATSAPP_WORKFLOW",
    } as const
  )[kind];
}
