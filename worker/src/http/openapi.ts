import * as z from "zod";
import { CATALOG, EVENT_NAMES } from "../events/catalog.ts";
import { EnvelopeShape, LegacyShape } from "../events/items.ts";
import {
  BulkCancelRequest,
  BulkCancelResponse,
  BulkReplayRequest,
  BulkReplayResponse,
  CancelResult,
  DispatchResponse,
  ErrorBody,
  FailedEventDetail,
  FailedEventList,
  FailedEventQuery,
  StateChange,
  StatusResponse,
} from "../operations/shapes.ts";
import { LIMITS } from "../topology.ts";

type Json = Record<string, unknown>;

/** Component names allow no slash: `email/reset-password` → `email.reset-password`. */
const componentName = (name: string) => name.replace(/\//g, ".");
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a request or as an answer. */
function schemaOf(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
  }) as Json;
  return json;
}

const json = (schema: Json) => ({ "application/json": { schema } });
const answer = (description: string, schema: Json = ref("Error"), headers?: Json) => ({
  description,
  content: json(schema),
  ...(headers ? { headers } : {}),
});
const retryAfter = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };
const errors = {
  unauthorized: answer("Missing or wrong bearer token"),
  forbidden: answer("A credential that may not use this route"),
  notFound: answer("Unknown id"),
  invalid: answer("The request is malformed"),
  unavailable: answer("Storage is unavailable; retry the same request", ref("Error"), retryAfter),
  misconfigured: answer("The worker is misconfigured (fails closed)"),
  rateLimited: answer("Rate limited", ref("Error"), retryAfter),
};
/** What any route behind a token can answer besides its own: no/wrong token, misconfigured, storage down. */
const guarded = {
  401: errors.unauthorized,
  500: errors.misconfigured,
  503: errors.unavailable,
};
/** The operator API adds 403 for a producer token. */
const operatorGuarded = { ...guarded, 403: errors.forbidden };

/** Query parameters from a zod object, each with its own schema. */
function queryParameters(schema: z.ZodObject) {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: "query",
    required: false,
    schema: schemaOf(field as z.ZodType, "input"),
  }));
}
const idParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", maxLength: LIMITS.instanceIdLength },
};

/** Every event as each SDK generation sends it: a variant per catalog event, payload included. */
function eventVariants(): Json {
  const names = EVENT_NAMES;
  const envelope = names.map((name) => ({
    allOf: [
      ref("EnvelopeItem"),
      {
        type: "object",
        properties: { name: { const: name }, payload: ref(componentName(name)) },
      },
    ],
  }));
  const legacy = names.map((name) => ({
    allOf: [
      ref("LegacyItem"),
      {
        type: "object",
        properties: {
          event: {
            type: "object",
            properties: { name: { const: name }, data: ref(componentName(name)) },
          },
        },
      },
    ],
  }));
  return {
    Event: { anyOf: [ref("EnvelopeEvent"), ref("LegacyEvent")] },
    EnvelopeEvent: { description: "SDK 0.1.4+ (SignedHttpAdapter)", oneOf: envelope },
    LegacyEvent: { description: "SDK 0.1.x (HttpTransport)", oneOf: legacy },
    EnvelopeItem: schemaOf(EnvelopeShape, "input"),
    LegacyItem: schemaOf(LegacyShape, "input"),
    ...Object.fromEntries(
      names.map((name) => [componentName(name), schemaOf(CATALOG[name].schema, "input")]),
    ),
  };
}

const ANSWERS = {
  Error: ErrorBody,
  DispatchResponse,
  StatusResponse,
  CancelResult,
  BulkCancelResponse,
  FailedEventList,
  FailedEventDetail,
  BulkReplayResponse,
  StateChange,
} as const;

/**
 * The console's pages: HTML for browsers, listed so the document names every route the worker
 * serves. Forms post `application/x-www-form-urlencoded` with the session's `csrf` field.
 */
const CONSOLE_PAGES: [method: "get" | "post", path: string, summary: string][] = [
  ["get", "/console", "Overview: events by state, the last 24 hours, the backend's failure rate"],
  ["get", "/console/sign-in", "Sign-in form"],
  ["post", "/console/sign-in", "Sign in with the operator token (sets the session cookie)"],
  ["post", "/console/sign-out", "Sign out"],
  ["get", "/console/failed", "Failed events, filtered and paged"],
  ["get", "/console/events/{id}", "One event: what was dispatched (masked), steps, attempts"],
  ["get", "/console/events/{id}/{action}", "Confirm replay, discard or cancel"],
  ["post", "/console/events/{id}/{action}", "Replay, discard or cancel"],
  ["get", "/console/replay", "Bulk replay: choose"],
  ["post", "/console/replay/preview", "Bulk replay: the events it would take (dry run)"],
  ["post", "/console/replay/run", "Bulk replay: replay exactly the previewed events"],
  ["get", "/console/lookup", "Look up any event id as its producer sees it"],
];

function consolePaths(): Json {
  const paths: Record<string, Json> = {};
  for (const [method, path, summary] of CONSOLE_PAGES) {
    const parameters = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    paths[path] = {
      ...paths[path],
      [method]: {
        tags: ["console"],
        summary,
        security: path === "/console/sign-in" ? [] : [{ consoleSession: [] }],
        ...(parameters.length ? { parameters } : {}),
        responses: {
          200: { description: "A page", content: { "text/html": { schema: { type: "string" } } } },
          303: { description: "Redirect (to sign-in without a session)" },
          403: { description: "Cross-site form or wrong CSRF token" },
        },
      },
    };
  }
  return paths;
}

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
