import {
  type Actor,
  allowed,
  FINAL_STATES,
  fromClause,
  type TransitionName,
  tierOf,
} from "../lifecycle/machine.ts";
import { type CallCounts, countCallsStatement } from "./backend-calls.ts";
import { passedBy } from "./cursors.ts";
import { requireSchema } from "./schema.ts";

/** What a transition writes besides the state; an absent field leaves its column as it is. */
export interface Changes {
  remainingSteps?: readonly string[];
  lastError?: string;
  /** Attempts to add to the count. */
  attempts?: number;
  replay?: boolean;
  /** Marks the event as having left the workflow tier (kept from the first time). */
  failed?: boolean;
  dueAt?: number | null;
  createAttempt?: boolean;
  /**
   * Backend calls this transition records (a receipt's steps, a recovery step): counted in the
   * same batch, so a successful call costs no D1 round trip of its own. Counted once per batch,
   * so meant for one event's transition.
   */
  calls?: CallCounts;
}

/** Extra conditions beyond the state: a claim on what is due, or a compare-and-set on progress. */
export interface Guard {
  /** Only rows due by then: two reconciler runs never both act on one row. */
  dueBy?: number;
  /** Only if the steps still to run are these: a slower chain cannot put progress back. */
  remainingSteps?: readonly string[];
}

/** The history row a transition leaves: what happened; who did it is the transition's actor. */
export interface Note {
  outcome: string;
  step?: string | null;
  detail?: string | null;
}

/** One guarded state change, as every writer of an event's state asks for it. */
export interface Change {
  name: TransitionName;
  by: Actor;
  changes?: Changes;
  /** Written only if the transition applied; none when absent. */
  note?: Note;
  guard?: Guard;
  now?: number;
}

/**
 * The statements of one guarded transition: the UPDATE only matches a row in one of the
 * transition's `from` states, and the history row and the call counts are written only if it did
 * (`changes()` is the previous statement's count inside the same batch: each follower writes only
 * if the statement before it wrote, so the chain holds back to the UPDATE).
 */
export function transitionStatements(
  db: D1Database,
  ids: readonly string[],
  { name, by, changes = {}, note, guard = {}, now = Date.now() }: Change,
): D1PreparedStatement[] {
  const { to } = allowed(name, by);
  const due = "CASE WHEN ?9 = 1 THEN ?10 ELSE due_at END";
  const update = db
    .prepare(
      `UPDATE events SET state = ?2, updated_at = ?3,
         remaining_steps = COALESCE(?4, remaining_steps),
         last_error = COALESCE(?5, last_error),
         attempts = attempts + ?6,
         replays = replays + ?7,
         failed_at = CASE WHEN ?8 = 1 THEN COALESCE(failed_at, ?3) ELSE failed_at END,
         due_at = ${FINAL_STATES.includes(to) ? settledDue(due) : due},
         create_attempts = create_attempts + ?11
       WHERE id IN (SELECT value FROM json_each(?1)) AND ${fromClause(name)}
         AND (?12 IS NULL OR due_at <= ?12) AND (?13 IS NULL OR remaining_steps = ?13)
       RETURNING id`,
    )
    .bind(
      JSON.stringify(ids),
      to,
      now,
      changes.remainingSteps === undefined ? null : JSON.stringify(changes.remainingSteps),
      changes.lastError ?? null,
      changes.attempts ?? 0,
      changes.replay ? 1 : 0,
      changes.failed ? 1 : 0,
      changes.dueAt === undefined ? 0 : 1,
      changes.dueAt ?? null,
      changes.createAttempt ? 1 : 0,
      guard.dueBy ?? null,
      guard.remainingSteps === undefined ? null : JSON.stringify(guard.remainingSteps),
    );
  const statements = [update];
  if (note !== undefined)
    statements.push(
      db
        .prepare(
          `INSERT INTO event_history (event_id, at, tier, step, outcome, detail)
           SELECT value, ?2, ?3, ?4, ?5, ?6 FROM json_each(?1)
           WHERE changes() > 0 AND EXISTS (SELECT 1 FROM events WHERE id = value AND state = ?7 AND updated_at = ?2)`,
        )
        .bind(JSON.stringify(ids), now, tierOf(by), note.step ?? null, note.outcome, note.detail ?? null, to),
    );
  const { calls } = changes;
  if (calls && (calls.ok > 0 || (calls.failed ?? 0) > 0))
    // A delivery straight from the workflow tier: the creation tail counts it, unless it has
    // passed the row already (one event's receipt: its id names it).
    statements.push(countCallsStatement(db, calls, now, name === "deliver" ? ids[0] : undefined));
  return statements;
}

/**
 * The due time of a row that settles: none (nothing is scheduled for it; the retention walk
 * comes to it in its turn), unless the retention walk has passed it already, then its compaction
 * is scheduled the kept time from now.
 */
const settledDue = (otherwise: string) =>
  `CASE WHEN ${passedBy("retention")}
     THEN ?3 + COALESCE((SELECT keep_ms FROM cursors WHERE name = 'retention'), 0) ELSE ${otherwise} END`;

/** Applies one transition to one event; says whether the event was in a state that allows it. */
export async function transition(db: D1Database, id: string, change: Change): Promise<boolean> {
  return (await transitionMany(db, [id], change)).length > 0;
}

/** Applies one transition to many events at once; returns the ids it applied to. */
export async function transitionMany(
  db: D1Database,
  ids: readonly string[],
  change: Change,
): Promise<string[]> {
  if (ids.length === 0) return [];
  await requireSchema(db);
  const [update] = await db.batch<{ id: string }>(transitionStatements(db, ids, change));
  return (update?.results ?? []).map((r) => r.id);
}
