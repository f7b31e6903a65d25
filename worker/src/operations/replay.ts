import type { Env } from "../env.ts";
import { log } from "../log.ts";
import { deliveryDue } from "../recovery/hand-over.ts";
import { sendPointers } from "../recovery/pointers.ts";
import { markForReplay } from "../store/failures.ts";

/**
 * Puts dead events back in line (the `replay` transition) and sends their pointers; returns the
 * ids that now retry. A failed send is the reconciler's to repeat: the rows' `due_at` says when.
 */
export async function replayEvents(env: Env, ids: readonly string[]): Promise<string[]> {
  const now = Date.now();
  const replayed = await markForReplay(env.DB, ids, now, deliveryDue(env, now, 0));
  try {
    await sendPointers(env.RECOVERY_QUEUE, replayed, 0);
  } catch (error) {
    log.warn("replay.enqueue-failed", {
      events: replayed.length,
      error: error instanceof Error ? error.message : "unknown",
    });
  }
  return replayed;
}
