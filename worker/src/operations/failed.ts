import type * as z from "zod";
import type { Env } from "../env.ts";
import { leaves } from "../lifecycle/machine.ts";
import { loadEvent, type StoredEvent } from "../store/events.ts";
import { type Filter, listFailed } from "../store/failures.ts";
import { InvalidRequestError } from "./errors.ts";
import type { FailedEventQuery } from "./shapes.ts";

/** Cursors are opaque to callers: the (failedAt, id) of the last row, base64url-encoded. */
const encodeCursor = (event: StoredEvent) =>
  btoa(JSON.stringify([event.failedAt, event.id]))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

function decodeCursor(cursor: string): [number, string] {
  try {
    const [at, id] = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    if (typeof at === "number" && typeof id === "string") return [at, id];
  } catch {}
  throw new InvalidRequestError("Invalid cursor");
}

/** One page of failed events, newest failure first, for the operator API and the console. */
export async function failedPage(
  db: D1Database,
  query: z.infer<typeof FailedEventQuery>,
): Promise<{ events: StoredEvent[]; nextCursor?: string }> {
  const events = await listFailed(
    db,
    query,
    query.limit + 1,
    query.cursor === undefined ? undefined : decodeCursor(query.cursor),
  );
  const page = events.slice(0, query.limit);
  const last = page.at(-1);
  return { events: page, ...(events.length > query.limit && last ? { nextCursor: encodeCursor(last) } : {}) };
}

/** An event an operator can replay: dead (the machine's `replay` leaves only dead) and still stored. */
export const isReplayable = (event: StoredEvent) => event.job !== undefined && leaves("replay", event.state);

/** The ids a bulk replay of `filter` takes (dead ones unless it says otherwise), at most `limit`. */
export async function replayable(db: D1Database, filter: Filter, limit: number): Promise<string[]> {
  const events = await listFailed(db, { ...filter, status: filter.status ?? "dead" }, limit);
  return events.filter(isReplayable).map((e) => e.id);
}

/** A failed event by id; an event that never failed is not the operator API's, so it is absent. */
export async function loadFailed(env: Env, id: string): Promise<StoredEvent | undefined> {
  const event = await loadEvent(env.DB, id);
  return event?.failedAt === null ? undefined : event;
}
