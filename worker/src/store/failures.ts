import type { State } from "../lifecycle/machine.ts";
import { type StoredEvent, toEvent } from "./events.ts";
import { requireSchema } from "./schema.ts";
import { transitionMany } from "./transitions.ts";

/** The states an event that left the workflow tier unfinished can be in, as the operator API filters them. */
export const FAILURE_STATES = [
  "retrying",
  "delivered",
  "dead",
  "discarded",
  "cancelled",
] as const satisfies readonly State[];

export interface Filter {
  status?: (typeof FAILURE_STATES)[number];
  name?: string;
  tenant?: string;
  from?: number;
  to?: number;
}

/** Events that failed at least once, newest failure first; `after` is the (failedAt, id) last seen. */
export async function listFailed(
  db: D1Database,
  filter: Filter,
  limit: number,
  after?: readonly [number, string],
): Promise<StoredEvent[]> {
  await requireSchema(db);
  const { results } = await db
    .prepare(
      `SELECT * FROM events
       WHERE failed_at IS NOT NULL
         AND (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR tenant_id = ?3)
         AND (?4 IS NULL OR failed_at >= ?4) AND (?5 IS NULL OR failed_at < ?5)
         AND (?6 IS NULL OR failed_at < ?6 OR (failed_at = ?6 AND id < ?7))
       ORDER BY failed_at DESC, id DESC LIMIT ?8`,
    )
    .bind(
      filter.status ?? null,
      filter.name ?? null,
      filter.tenant ?? null,
      filter.from ?? null,
      filter.to ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      limit,
    )
    .all();
  return results.map(toEvent);
}

/**
 * Puts dead events back in line; returns the ids that now retry. An event still retrying is
 * left alone: a second message chain beside its own would race it to the dead letter. If their
 * pointers cannot be sent, the reconciler sends them once `dueAt` passes.
 */
export function markForReplay(
  db: D1Database,
  ids: readonly string[],
  now: number,
  dueAt: number,
): Promise<string[]> {
  return transitionMany(db, ids, {
    name: "replay",
    by: "operator",
    changes: { replay: true, dueAt },
    note: { outcome: "replay" },
    now,
  });
}

export async function discard(db: D1Database, id: string, now: number): Promise<boolean> {
  const [discarded] = await transitionMany(db, [id], {
    name: "discard",
    by: "operator",
    changes: { dueAt: null },
    note: { outcome: "discard" },
    now,
  });
  return discarded !== undefined;
}
