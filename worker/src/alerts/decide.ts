import type { AlertState } from "../store/alert-state.ts";
import type { AlertStatus, Observation } from "./conditions.ts";

/** What one check does about one condition. */
export type Decision =
  /** Another run is sending this condition's alert: leave it to that run. */
  | { kind: "busy" }
  /** Nothing new to tell, nothing to remember. */
  | { kind: "quiet" }
  /** Nothing new to tell; remember how far the dead events were counted. */
  | { kind: "advance"; cursor: number }
  /** The condition started or stopped holding: tell the webhook. */
  | { kind: "announce"; status: AlertStatus };

/**
 * One alert when a condition starts holding, one "resolved" when it stops: the stored status is
 * what the webhook was last told, so an alert that could not be sent is decided again next time.
 */
export function decide(state: AlertState, observation: Observation, now: number): Decision {
  if (state.claimedUntil !== null && state.claimedUntil > now) return { kind: "busy" };
  const told = state.status === "firing";
  if (!told && observation.firing) return { kind: "announce", status: "firing" };
  if (told && observation.cleared) return { kind: "announce", status: "resolved" };
  return observation.cursor === state.cursor
    ? { kind: "quiet" }
    : { kind: "advance", cursor: observation.cursor };
}
