/** The building blocks of the OpenAPI document: references, answers, guards, parameters, the event variants, the console's pages. */
import * as z from "zod";
import { CATALOG, EVENT_NAMES } from "../events/catalog.ts";
import { EnvelopeShape, LegacyShape } from "../events/items.ts";
import {
  BulkCancelResponse,
  BulkReplayResponse,
  CancelResult,
  DispatchResponse,
  ErrorBody,
  FailedEventDetail,
  FailedEventList,
  StateChange,
  StatusResponse,
} from "../operations/shapes.ts";
import { LIMITS } from "../topology.ts";

export type Json = Record<string, unknown>;

/** Component names allow no slash: `email/reset-password` → `email.reset-password`. */
export const componentName = (name: string) => name.replace(/\//g, ".");
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a request or as an answer. */
export function schemaOf(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
  }) as Json;
  return json;
}

export const json = (schema: Json) => ({ "application/json": { schema } });
export const answer = (description: string, schema: Json = ref("Error"), headers?: Json) => ({
  description,
  content: json(schema),
  ...(headers ? { headers } : {}),
});
export const retryAfter = { "Retry-After": { description: "Seconds to wait", schema: { type: "integer" } } };
export const errors = {
  unauthorized: answer("Missing or wrong bearer token"),
  forbidden: answer("A credential that may not use this route"),
  notFound: answer("Unknown id"),
  invalid: answer("The request is malformed"),
  unavailable: answer("Storage is unavailable; retry the same request", ref("Error"), retryAfter),
  misconfigured: answer("The worker is misconfigured (fails closed)"),
  rateLimited: answer("Rate limited", ref("Error"), retryAfter),
};
/** What any route behind a token can answer besides its own: no/wrong token, misconfigured, storage down. */
export const guarded = {
  401: errors.unauthorized,
  500: errors.misconfigured,
  503: errors.unavailable,
};
/** The operator API adds 403 for a producer token. */
export const operatorGuarded = { ...guarded, 403: errors.forbidden };

/** Query parameters from a zod object, each with its own schema. */
export function queryParameters(schema: z.ZodObject) {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: "query",
    required: false,
    schema: schemaOf(field as z.ZodType, "input"),
  }));
}
export const idParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", maxLength: LIMITS.instanceIdLength },
};

/** Every event as each SDK generation sends it: a variant per catalog event, payload included. */
export function eventVariants(): Json {
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

export const ANSWERS = {
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
export const CONSOLE_PAGES: [method: "get" | "post", path: string, summary: string][] = [
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

export function consolePaths(): Json {
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
