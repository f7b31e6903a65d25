import type { Env } from "../env.ts";
import { discard } from "../store/failures.ts";

/** Gives up on a dead event for good; false when it is not dead (it moved on, or never was). */
export const discardEvent = (env: Env, id: string): Promise<boolean> => discard(env.DB, id, Date.now());
