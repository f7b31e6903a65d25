/**
 * An event's lifecycle: every state it can be in, every transition between them, and who may
 * make each. The store guards every update with `from` (an UPDATE that finds the row in another
 * state changes nothing), `/status` and the operator API report these states, and nothing else
 * compares state strings. Import-free: the worker, local tools and tests all read it.
 *
 *   accepted ──start──▶ started ──deliver──▶ delivered
 *    │  ▲                 │  │
 *    │  └───recreate──────┘  ├──handOver──▶ retrying ──recover──▶ delivered
 *    │                       └──fail──▶ dead ◀──bury── retrying
 *    └─abandon, giveUp─▶ dead │               ▲  │
 *                             └────replay─────┘  └──discard──▶ discarded
 *   accepted, started, retrying ──cancel──▶ cancelled
 */
/** Where every event starts: recorded at admission, its instance not created yet. */
export const INITIAL_STATE = "accepted";

export const STATES = [
  "accepted",
  "started",
  "retrying",
  "delivered",
  "dead",
  "discarded",
  "cancelled",
] as const;
export type State = (typeof STATES)[number];

/**
 * A state as a row holds it: one of this release's, or one a newer release wrote (during a
 * gradual rollout, or after a rollback). An unknown state is shown as it is and left alone: no
 * transition's guard names it, so nothing here ever changes such a row.
 */
export type StoredState = State | (string & {});

export const isState = (state: string): state is State => (STATES as readonly string[]).includes(state);

export type Actor =
  | "dispatch"
  | "reconciler"
  | "workflow"
  | "recovery"
  | "dead-letter"
  | "operator"
  | "producer";

/**
 * Who a history row says acted: the actor, except that the recovery consumer's rows say "queue"
 * (what history rows said before the actors were named, and what stored rows keep saying).
 */
export type Tier = Exclude<Actor, "recovery"> | "queue";
export const tierOf = (actor: Actor): Tier => (actor === "recovery" ? "queue" : actor);

export interface Transition {
  from: readonly State[];
  to: State;
  by: readonly Actor[];
}

/**
 * The workflow tier owns the event: only then may an instance call the backend for it. A running
 * instance proves its creation even when the `start` write was lost, so the workflow's own
 * transitions also leave `accepted`.
 */
export const RUNNING: readonly State[] = ["accepted", "started"];

export const TRANSITIONS = {
  /**
   * The instance exists and is still running when the reconciler looks: created by it, or found
   * by it. A dispatch does not spend a write on this; most events go from accepted to delivered.
   */
  start: { from: ["accepted"], to: "started", by: ["reconciler"] },
  /** Creation kept failing for the item itself: visible as dead instead of retried for ever. */
  abandon: { from: ["accepted"], to: "dead", by: ["reconciler"] },
  /**
   * This release cannot route the event (its name left the catalog, or what was stored no longer
   * fits) and no instance runs it: dead with the reason, replayable once a release can route it.
   */
  giveUp: { from: ["accepted", "started"], to: "dead", by: ["reconciler"] },
  /** The instance vanished without finishing: create it again. */
  recreate: { from: ["started"], to: "accepted", by: ["reconciler"] },
  /**
   * Every step performed in the workflow; recorded by it, or, when its receipt was lost, by the
   * reconciler or a cancel that finds the instance finished.
   */
  deliver: { from: RUNNING, to: "delivered", by: ["workflow", "reconciler", "producer", "operator"] },
  /** The workflow gave up on a transient failure: the recovery queue owns the event now. */
  handOver: { from: RUNNING, to: "retrying", by: ["workflow", "reconciler"] },
  /**
   * A permanent failure in the workflow; recorded by it, or, when that record was lost, by the
   * reconciler from the errored instance's error.
   */
  fail: { from: RUNNING, to: "dead", by: ["workflow", "reconciler"] },
  /** A recovery attempt: a step done, a transient failure, or an overdue pointer sent again. */
  retry: { from: ["retrying"], to: "retrying", by: ["recovery", "reconciler"] },
  recover: { from: ["retrying"], to: "delivered", by: ["recovery"] },
  bury: { from: ["retrying"], to: "dead", by: ["recovery", "dead-letter"] },
  replay: { from: ["dead"], to: "retrying", by: ["operator"] },
  discard: { from: ["retrying", "dead"], to: "discarded", by: ["operator"] },
  /**
   * The producer no longer wants it (the cart was bought): wherever it is, no further step runs.
   * Steps already performed stay performed. An operator may do it for them from the console.
   */
  cancel: { from: ["accepted", "started", "retrying"], to: "cancelled", by: ["producer", "operator"] },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Whether transition `name` may leave `state` (any text: a state a newer release wrote leaves by none). */
export const leaves = (name: TransitionName, state: string): boolean =>
  (TRANSITIONS[name].from as readonly string[]).includes(state);

/** The transitions that leave `state`. */
export const transitionsFrom = (state: string): TransitionName[] =>
  (Object.keys(TRANSITIONS) as TransitionName[]).filter((name) => leaves(name, state));

export class TransitionNotAllowedError extends Error {
  override readonly name = "TransitionNotAllowedError";
}

/** Refuses a transition its actor may not make: a programming error, caught by tests. */
export function allowed(name: TransitionName, by: Actor): Transition {
  const transition: Transition = TRANSITIONS[name];
  if (!transition.by.includes(by)) throw new TransitionNotAllowedError(`${by} may not ${name}`);
  return transition;
}

/** `state IN (...)`: how SQL names states, always typed as states of this machine. */
export const stateClause = (states: readonly State[]): string =>
  `state IN (${states.map((s) => `'${s}'`).join(", ")})`;

/** The SQL guard of a transition: `state IN (...)`, from the table above and nowhere else. */
export function fromClause(name: TransitionName): string {
  return stateClause(TRANSITIONS[name].from);
}

/**
 * States no transition leaves: the event is settled for good (delivered, discarded, cancelled),
 * so retention may forget its payload and, later, the row. Derived, so a new state that can be
 * left is never forgotten by mistake.
 */
export const FINAL_STATES: readonly State[] = STATES.filter((state) =>
  Object.values(TRANSITIONS).every((t: Transition) => !t.from.includes(state)),
);

/** `state IN (...)` for the final states. */
export const finalClause = (): string => stateClause(FINAL_STATES);

/** Events the recovery tier owns (it may still deliver them): the backlog alerts watch. */
export const recoveringClause = (): string => stateClause(TRANSITIONS.recover.from);

/** Dead events: kept, waiting for an operator to replay or discard them. */
export const deadClause = (): string => stateClause([TRANSITIONS.bury.to]);
