import { BulkCancelRequest, BulkReplayRequest, FailedEventQuery } from "../operations/shapes.ts";

import {
  ANSWERS,
  answer,
  consolePaths,
  errors,
  eventVariants,
  guarded,
  idParameter,
  type Json,
  json,
  operatorGuarded,
  queryParameters,
  ref,
  retryAfter,
  schemaOf,
} from "./openapi-parts.ts";

/** The worker's HTTP API as an OpenAPI 3.1 document, generated from the schemas it runs on. */
export function openApiDocument(serverUrl?: string): Json {
  const producer = [{ producerToken: [] }];
  const operator = [{ operatorToken: [] }];
  return {
    openapi: "3.1.0",
    info: {
      title: "Background jobs worker",
      version: "1.0.0",
      description:
        "Dispatch background jobs, follow and cancel them; operators inspect and replay failed ones.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      securitySchemes: {
        producerToken: { type: "http", scheme: "bearer", description: "AUTH_TOKEN (or AUTH_TOKEN_NEXT)" },
        operatorToken: {
          type: "http",
          scheme: "bearer",
          description: "OPERATOR_TOKEN (or OPERATOR_TOKEN_NEXT)",
        },
        consoleSession: {
          type: "apiKey",
          in: "cookie",
          name: "__Host-jobs_console",
          description: "Set by signing in to the console with the operator token",
        },
      },
      schemas: {
        ...Object.fromEntries(
          Object.entries(ANSWERS).map(([name, schema]) => [name, schemaOf(schema, "output")]),
        ),
        DispatchRequest: {
          type: "object",
          required: ["events"],
          properties: { events: { type: "array", items: ref("Event") } },
        },
        BulkCancelRequest: schemaOf(BulkCancelRequest, "input"),
        BulkReplayRequest: schemaOf(BulkReplayRequest, "input"),
        ...eventVariants(),
      },
    },
    paths: {
      ...consolePaths(),
      "/health": {
        get: {
          operationId: "health",
          summary: "Readiness: the database answers and has this release's migrations",
          security: [],
          responses: {
            200: answer("The worker can work", {
              type: "object",
              properties: { status: { const: "ok" } },
              required: ["status"],
            }),
            503: answer(
              "Storage is unavailable, or lacks a migration this release needs (the error names it)",
              ref("Error"),
              retryAfter,
            ),
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openApi",
          summary: "This document",
          security: [],
          responses: { 200: answer("OpenAPI 3.1 document", { type: "object" }) },
        },
      },
      "/dispatch": {
        post: {
          operationId: "dispatch",
          summary: "Accept a batch of events; each starts one workflow",
          security: producer,
          requestBody: { required: true, content: json(ref("DispatchRequest")) },
          responses: {
            200: answer("Accepted ids, and per-item errors for items refused", ref("DispatchResponse")),
            ...guarded,
            400: errors.invalid,
            413: answer("Body over 1 MiB, or more events than allowed per request"),
            429: errors.rateLimited,
          },
        },
      },
      "/status/{id}": {
        get: {
          operationId: "status",
          summary: "An event's status, in SDK 0.1.5's vocabulary",
          security: producer,
          parameters: [
            idParameter,
            { name: "name", in: "query", required: false, schema: { type: "string" } },
          ],
          responses: {
            ...guarded,
            200: answer("The event", ref("StatusResponse")),
            404: errors.notFound,
          },
        },
      },
      "/events/{id}/cancel": {
        post: {
          operationId: "cancel",
          summary: "Cancel one event: no further backend step runs",
          security: producer,
          parameters: [idParameter],
          responses: {
            ...guarded,
            200: answer("Cancelled (or already was)", ref("CancelResult")),
            404: errors.notFound,
            409: answer("Delivered, dead or discarded: nothing left to cancel"),
            429: errors.rateLimited,
          },
        },
      },
      "/events/cancel": {
        post: {
          operationId: "cancelMany",
          summary: "Cancel up to 1,000 events",
          security: producer,
          requestBody: { required: true, content: json(ref("BulkCancelRequest")) },
          responses: {
            ...guarded,
            200: answer("One result per distinct id", ref("BulkCancelResponse")),
            400: errors.invalid,
            429: errors.rateLimited,
          },
        },
      },
      "/failed-events": {
        get: {
          operationId: "listFailedEvents",
          summary: "Events that left their workflow unfinished, newest failure first",
          security: operator,
          parameters: queryParameters(FailedEventQuery),
          responses: {
            200: answer("A page of failed events", ref("FailedEventList")),
            400: errors.invalid,
            ...operatorGuarded,
          },
        },
      },
      "/failed-events/replay": {
        post: {
          operationId: "replayFailedEvents",
          summary: "Replay the dead events a filter matches (dry run first)",
          security: operator,
          requestBody: { required: false, content: json(ref("BulkReplayRequest")) },
          responses: {
            200: answer("Dry run: what would be replayed", ref("BulkReplayResponse")),
            202: answer("Replayed", ref("BulkReplayResponse")),
            400: errors.invalid,
            ...operatorGuarded,
          },
        },
      },
      "/failed-events/{id}": {
        get: {
          operationId: "getFailedEvent",
          summary: "One failed event, its attempts and the event as dispatched (secrets masked)",
          security: operator,
          parameters: [idParameter],
          responses: {
            200: answer("The event", ref("FailedEventDetail")),
            ...operatorGuarded,
            404: errors.notFound,
          },
        },
        delete: {
          operationId: "discardFailedEvent",
          summary: "Discard a dead event",
          security: operator,
          parameters: [idParameter],
          responses: {
            200: answer("Discarded", ref("StateChange")),
            ...operatorGuarded,
            404: errors.notFound,
            409: answer("Not discardable in its state"),
          },
        },
      },
      "/failed-events/{id}/replay": {
        post: {
          operationId: "replayFailedEvent",
          summary: "Replay one dead event",
          security: operator,
          parameters: [idParameter],
          responses: {
            202: answer("Replayed", ref("StateChange")),
            ...operatorGuarded,
            404: errors.notFound,
            409: answer("Not replayable in its state"),
          },
        },
      },
    },
  };
}
