import type { Env } from "../env.ts";
import { type Actor, leaves, TRANSITIONS, type TransitionName } from "../lifecycle/machine.ts";
import { cancelEvents } from "../operations/cancel.ts";
import { discardEvent } from "../operations/discard.ts";
import { replayEvents } from "../operations/replay.ts";
import type { StoredEvent } from "../store/events.ts";

/**
 * What an operator can do to one event from the console: each is a transition of the lifecycle,
 * offered only from the states that transition leaves, and confirmed before it runs.
 */
export const ACTIONS = {
  replay: {
    transition: "replay",
    label: "Replay",
    explain:
      "Runs the event again from the step that failed, with the same ids, so a backend that deduplicates performs nothing twice.",
    danger: false,
  },
  discard: {
    transition: "discard",
    label: "Discard",
    explain: "Gives up on the event for good: it stays listed as discarded until retention forgets it.",
    danger: true,
  },
  cancel: {
    transition: "cancel",
    label: "Cancel",
    explain: "No further backend step runs; steps already performed stay performed.",
    danger: true,
  },
} as const satisfies Record<
  string,
  { transition: TransitionName; label: string; explain: string; danger: boolean }
>;

export type ActionName = keyof typeof ACTIONS;

export const isActionName = (name: string): name is ActionName => Object.hasOwn(ACTIONS, name);

/** Whether the lifecycle lets an operator take this action from the event's state. */
export function offered(event: StoredEvent, action: ActionName): boolean {
  const name = ACTIONS[action].transition;
  const by = TRANSITIONS[name].by as readonly Actor[];
  return (
    leaves(name, event.state) && by.includes("operator") && (action !== "replay" || event.job !== undefined)
  );
}

/** Takes the action; false when the event had moved on meanwhile (the guarded update found it elsewhere). */
export async function take(env: Env, event: StoredEvent, action: ActionName): Promise<boolean> {
  switch (action) {
    case "replay":
      return (await replayEvents(env, [event.id])).length === 1;
    case "discard":
      return discardEvent(env, event.id);
    case "cancel":
      return (await cancelEvents(env, [event.id], "operator"))[0]?.kind === "cancelled";
  }
}
