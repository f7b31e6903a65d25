import type { Env } from "../env.ts";
import { chunks } from "../events/chunks.ts";
import { LIMITS } from "../topology.ts";
import { recoveryPointer } from "./message.ts";

/** The part of a queue binding pointers need (the local runtime's revive passes its own). */
export type PointerQueue = Pick<Env["RECOVERY_QUEUE"], "sendBatch">;

/** Sends one recovery pointer per event, in sendBatch-sized chunks; throws on a failed send. */
export async function sendPointers(
  queue: PointerQueue,
  ids: readonly string[],
  delaySeconds?: number,
): Promise<void> {
  for (const slice of chunks(ids, LIMITS.queueSendBatch))
    await queue.sendBatch(
      slice.map((id) => ({
        body: recoveryPointer(id),
        ...(delaySeconds === undefined ? {} : { delaySeconds }),
      })),
    );
}
