import type * as z from "zod";
import { CATALOG, type EventName, isEventName } from "./catalog.ts";
import { SENSITIVE } from "./fields.ts";
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
  return {
    ...job,
    payload: maskPayload(job.name, job.payload),
    // Envelope metadata passes through unvalidated: secret-named keys in it are masked too.
    ...(job.metadata ? { metadata: maskPayload("", job.metadata) } : {}),
  };
}

/** The secret values a payload carries (what maskPayload hides), longest first. */
export function secretsOf(job: JobParams | undefined): string[] {
  if (!job) return [];
  const fields = isEventName(job.name) ? sensitiveFields(job.name) : new Set<string>();
  const found = new Set<string>();
  const collect = (value: unknown) => {
    if (typeof value === "string" || typeof value === "number") found.add(String(value));
    else if (value !== null && typeof value === "object") for (const v of Object.values(value)) collect(v);
  };
  const walk = (value: unknown, top: boolean) => {
    if (value === null || typeof value !== "object") return;
    for (const [key, v] of Object.entries(value)) {
      if ((top && fields.has(key)) || SECRET_NAME.test(key)) collect(v);
      else walk(v, false);
    }
  };
  walk(job.payload, true);
  // Very short values (a "1", a "12") would mask half the text and hide nothing.
  return [...found].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * Free text an operator reads (a backend's error body, a history detail) with the event's secret
 * values masked: backends often echo the value they refused.
 */
export function maskText(text: string, secrets: readonly string[]): string {
  return secrets.reduce((masked, secret) => masked.split(secret).join(MASK), text);
}

/**
 * An event as operators see it, everywhere (operator API, console): payload masked, and its
 * secret values masked in the last error and the history's details too.
 */
export function forOperators<E extends { job: JobParams | undefined; lastError: string }>(event: E): E {
  const secrets = secretsOf(event.job);
  return {
    ...event,
    job: event.job ? maskJob(event.job) : undefined,
    lastError: maskText(event.lastError, secrets),
  };
}

export function historyForOperators<H extends { detail: string | null }>(
  history: readonly H[],
  job: JobParams | undefined,
): H[] {
  const secrets = secretsOf(job);
  return history.map((h) => ({ ...h, detail: h.detail === null ? null : maskText(h.detail, secrets) }));
}

/** A JSON value with the secrets masked inside every string in it (keys left as they are). */
export function maskStrings<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return maskText(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(Object.entries(v).map(([key, inner]) => [key, walk(inner)]));
  };
  return walk(value) as T;
}
