import { describe, expect, it } from "vitest";
import { QUEUES } from "../../worker/src/topology.ts";
import { backend, dispatch, envelope, operator, resetPassword, storeEvent, uid } from "./helpers.ts";
import { type FailedEvent, failed, until } from "./recovery-setup.ts";

describe("operator API", () => {
  /** Dead events for one tenant, made quickly with a permanent failure. */
  async function deadEvents(tenant: string, count: number, name = "email/reset-password") {
    const events = Array.from({ length: count }, () =>
      envelope(name, { ...resetPassword, tenantId: tenant }),
    );
    for (const e of events) await backend.fault({ eventId: e.id, status: 422, count: 1 });
    await dispatch(events);
    for (const e of events) await until(e.id, "dead");
    return events;
  }

  it("lists with filters, the queue names, and cursor pagination", async () => {
    const tenant = uid("tenant");
    const events = await deadEvents(tenant, 5);
    const first = await (await operator(`/failed-events?tenant=${tenant}&status=dead&limit=2`)).json();
    expect(first).toMatchObject({
      info: expect.stringContaining("replay"),
      queues: { retry: QUEUES.recovery.name, deadLetter: QUEUES.deadLetter.name },
      retryQueue: QUEUES.recovery.name,
      deadLetterQueue: QUEUES.deadLetter.name,
    });
    const seen: string[] = [];
    let page = first as { events: FailedEvent[]; nextCursor?: string };
    for (;;) {
      seen.push(...page.events.map((e) => e.id));
      if (!page.nextCursor) break;
      page = await (
        await operator(`/failed-events?tenant=${tenant}&limit=2&cursor=${page.nextCursor}`)
      ).json();
    }
    expect(seen.sort()).toEqual(events.map((e) => e.id).sort());
    const none = await (await operator(`/failed-events?tenant=${tenant}&status=delivered`)).json();
    expect((none as { events: unknown[] }).events).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    const later = await (await operator(`/failed-events?tenant=${tenant}&from=${future}`)).json();
    expect((later as { events: unknown[] }).events).toEqual([]);
    const before = await (
      await operator(`/failed-events?tenant=${tenant}&to=${future}&name=email/reset-password`)
    ).json();
    expect((before as { events: unknown[] }).events).toHaveLength(5);
  });

  it("inspects one event with its payload and history", async () => {
    const [event] = await deadEvents(uid("tenant"), 1);
    const body = (await (await operator(`/failed-events/${event?.id}`)).json()) as FailedEvent & {
      event: unknown;
    };
    expect(body.event).toMatchObject({
      id: event?.id,
      name: "email/reset-password",
      // The code is masked for operators (operator-access.test.ts: a replay sends the original).
      payload: { ...event?.payload, otpCode: "••••••" },
    });
    expect(body.history).toEqual([expect.objectContaining({ tier: "workflow", outcome: "dead" })]);
  });

  it("bulk-replays by filter, with a dry run that changes nothing", async () => {
    const tenant = uid("tenant");
    const events = await deadEvents(tenant, 3);
    const ids = events.map((e) => e.id).sort();
    const replay = (body: unknown) =>
      operator("/failed-events/replay", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });

    const dry = (await (await replay({ tenant, dryRun: true })).json()) as { matched: number; ids: string[] };
    expect({ ...dry, ids: dry.ids.sort() }).toEqual({ dryRun: true, matched: 3, ids });
    for (const id of ids) expect((await failed(id))?.status).toBe("dead");

    const real = await replay({ tenant });
    expect(real.status).toBe(202);
    for (const id of ids) await until(id, "delivered");
    for (const id of ids) expect((await backend.calls(id)).map((c) => c.status)).toEqual([422, 200]);
  });

  it("discards an event, which stays visible as discarded", async () => {
    const [event] = await deadEvents(uid("tenant"), 1);
    const response = await operator(`/failed-events/${event?.id}`, { method: "DELETE" });
    expect(await response.json()).toEqual({ id: event?.id, status: "discarded" });
    expect((await failed(event?.id as string))?.status).toBe("discarded");
    expect((await operator(`/failed-events/${event?.id}/replay`, { method: "POST" })).status).toBe(409);
  });

  it("does not replay an event that is still retrying (its own retries are under way)", async () => {
    const id = uid("retrying");
    const job = {
      id,
      name: "email/verification",
      payload: { email: "a@b.c", otpCode: "1" },
      traceId: "t",
      idempotencyKey: "k",
      createdAt: "2026-11-21T00:00:00Z",
    };
    await storeEvent({
      id,
      job,
      state: "retrying",
      failedAt: Date.now(),
      remainingSteps: ["email/verification"],
    });
    expect((await failed(id))?.replayable).toBe(false);
    const response = await operator(`/failed-events/${id}/replay`, { method: "POST" });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toBe(
      "Not replayable: the event is retrying",
    );
  });

  it("answers 404, 400 and 401 where it should", async () => {
    expect((await operator(`/failed-events/${uid()}`)).status).toBe(404);
    expect((await operator(`/failed-events/${uid()}/replay`, { method: "POST" })).status).toBe(404);
    expect((await operator(`/failed-events/${uid()}`, { method: "DELETE" })).status).toBe(404);
    expect((await operator("/failed-events?status=lost")).status).toBe(400);
    expect((await operator("/failed-events?cursor=%%%")).status).toBe(400);
    expect((await operator("/failed-events?limit=0")).status).toBe(400);
    expect((await operator("/failed-events", { token: null })).status).toBe(401);
    expect((await operator(`/failed-events/${uid()}`, { token: null })).status).toBe(401);
  });
});
