/**
 * The names a workflow records its durable steps under. An instance that wakes on newer code
 * replays `run()` and finds each finished step's result by its name: a renamed step runs again.
 * Part of the release contract (worker/release.json), so a change to any of them is caught.
 */
export const STEP_NAMES = {
  delay: "delay",
  /** The backend call: the catalog's step, which is also its path. */
  call: (step: string) => step,
  /**
   * The same call again after its turn at a backend limit did not come (`turn` from 1): a step
   * of its own, since the one before it finished with "throttled" and replays as that.
   */
  callTurn: (step: string, turn: number) => `${step} (turn ${turn + 1})`,
  handOver: (step: string) => `hand over ${step}`,
  recordDead: (step: string) => `record dead ${step}`,
  /** Only when the receipt written inside the last call could not be: a step of its own. */
  recordDelivery: (step: string) => `record delivery ${step}`,
} as const;
