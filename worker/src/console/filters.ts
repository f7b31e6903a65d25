import * as z from "zod";
import { FAILURE_STATES } from "../store/failures.ts";

/**
 * The console's filter form: the operator API's filters, with the browser's `datetime-local`
 * values (no zone) read as UTC, and empty fields meaning "any".
 */
const empty = (value: unknown) => (value === "" ? undefined : value);
const instant = z.preprocess(
  (v) => (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v) ? `${v}:00Z` : empty(v)),
  z.iso
    .datetime({ offset: true })
    .transform((value) => Date.parse(value))
    .optional(),
);
const text = (max: number) => z.preprocess(empty, z.string().trim().max(max).optional());

export const ConsoleFilter = z.object({
  status: z.preprocess(empty, z.enum(FAILURE_STATES).optional()),
  name: text(100),
  tenant: text(200),
  from: instant,
  to: instant,
});
export type ConsoleFilter = z.infer<typeof ConsoleFilter>;

/** The filter as query parameters again (for the next page's link), datetimes as the form sent them. */
export function filterQuery(raw: Record<string, string | undefined>): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of Object.keys(ConsoleFilter.shape)) {
    const value = raw[key];
    if (value) params.set(key, value);
  }
  return params;
}
