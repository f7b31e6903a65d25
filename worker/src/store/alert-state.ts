import * as z from "zod";
import { requireSchema } from "./schema.ts";

/** What the webhook was last told about a condition: nothing yet or "resolved" (clear), or firing. */
export const TOLD_STATUSES = ["clear", "firing"] as const;
export type ToldStatus = (typeof TOLD_STATUSES)[number];

const RowSchema = z.object({
  condition: z.string(),
  status: z.enum(TOLD_STATUSES),
  cursor: z.number(),
  claimed_until: z.number().nullable(),
  version: z.number(),
});

export interface AlertState {
  condition: string;
  status: ToldStatus;
  /** How far the dead events were counted: an event_history rowid. */
  cursor: number;
  /** A run sending this condition's alert owns it until then. */
  claimedUntil: number | null;
  /** The compare-and-set token: every change moves it on. */
  version: number;
}

/**
 * Every condition's state; a condition never seen starts clear, its dead events counted from
 * `since` (when alerting was set up: the deploy), not from whenever its first check happens.
 */
export async function readAlertStates(
  db: D1Database,
  conditions: readonly string[],
  now: number,
  since: number,
): Promise<Map<string, AlertState>> {
  await requireSchema(db);
  const [, read] = await db.batch([
    db
      .prepare(
        // A condition seen for the first time starts from the history as it stood at `since`:
        // dead events from before alerting existed are not "new", those since are (event_history_at).
        `INSERT INTO alert_state (condition, updated_at, cursor)
         SELECT value, ?2, (SELECT COALESCE(MAX(rowid), 0) FROM event_history WHERE at < ?3)
         FROM json_each(?1) WHERE true
         ON CONFLICT (condition) DO NOTHING`,
      )
      .bind(JSON.stringify(conditions), now, since),
    db
      .prepare("SELECT * FROM alert_state WHERE condition IN (SELECT value FROM json_each(?1))")
      .bind(JSON.stringify(conditions)),
  ]);
  const states = (read?.results ?? []).map((row) => {
    const r = RowSchema.parse(row);
    return {
      condition: r.condition,
      status: r.status,
      cursor: r.cursor,
      claimedUntil: r.claimed_until,
      version: r.version,
    };
  });
  return new Map(states.map((state) => [state.condition, state]));
}

/**
 * Takes the right to send this condition's next alert until `until`, only from the state that
 * was read and only if no other run holds it: of two overlapping runs, one gets it. Returns the
 * version the sender settles or releases with, or undefined when another run got there first.
 */
export async function claimAlert(
  db: D1Database,
  state: AlertState,
  until: number,
  now: number,
): Promise<number | undefined> {
  const row = await db
    .prepare(
      `UPDATE alert_state SET claimed_until = ?3, version = version + 1, updated_at = ?4
       WHERE condition = ?1 AND version = ?2 AND (claimed_until IS NULL OR claimed_until <= ?4)
       RETURNING version`,
    )
    .bind(state.condition, state.version, until, now)
    .first<{ version: number }>();
  return row?.version;
}

/**
 * Remembers what the webhook was told and how far the dead events were counted, and ends any
 * claim (a sender whose webhook failed settles on what was there, so the next run tries again);
 * only from `version`, so a run that lost its claim (it expired, another took it) cannot
 * overwrite what the other run did. Says whether it applied.
 */
export async function settleAlert(
  db: D1Database,
  condition: string,
  version: number,
  status: ToldStatus,
  cursor: number,
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE alert_state SET status = ?3, cursor = ?4, claimed_until = NULL, version = version + 1,
         updated_at = ?5
       WHERE condition = ?1 AND version = ?2`,
    )
    .bind(condition, version, status, cursor, now)
    .run();
  return (result.meta.changes ?? 0) > 0;
}
