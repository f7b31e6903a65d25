import type * as z from "zod";
import { CATALOG, type EventName, isEventName, SENSITIVE } from "./catalog.ts";
import type { JobParams } from "./job.ts";

/** What an operator sees in place of a sensitive value. */
export const MASK = "••••••";

/**
 * Field names that hold secrets whatever the catalog says: a producer's extra fields pass through
 * unvalidated, and a `password` among them must not reach a page.
 */
const SECRET_NAME = /pass(word)?|secret|token|otp|api[-_]?key|credential/i;

const marked = new Map<EventName, Set<string>>();

/** The payload fields an event's catalog entry marks sensitive. */
export function sensitiveFields(name: EventName): Set<string> {
  let fields = marked.get(name);
  if (!fields) {
    const shape = (CATALOG[name].schema as unknown as z.ZodObject).shape;
    fields = new Set(
      Object.entries(shape)
        .filter(([, field]) => (field as z.ZodType).meta()?.[SENSITIVE] === true)
        .map(([key]) => key),
    );
    marked.set(name, fields);
  }
  return fields;
}

/** A copy of a payload with every sensitive value masked, at any depth for secret-named keys. */
export function maskPayload(name: string, payload: Record<string, unknown>): Record<string, unknown> {
  const fields = isEventName(name) ? sensitiveFields(name) : new Set<string>();
  const walk = (value: unknown, top: boolean): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, false));
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) =>
        (top && fields.has(key)) || SECRET_NAME.test(key) ? [key, MASK] : [key, walk(v, false)],
      ),
    );
  };
  return walk(payload, true) as Record<string, unknown>;
}

/** The event as an operator may see it. */
export function maskJob(job: JobParams): JobParams {
  return { ...job, payload: maskPayload(job.name, job.payload) };
}
