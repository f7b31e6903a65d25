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
import { backend, dispatch, envelope, operator, request, resetPassword, statusIs, uid } from "./helpers.ts";
import { perItemMessages } from "./producers-setup.ts";

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
