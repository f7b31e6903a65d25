import type { Env } from "../env.ts";
import { recoveryPointer } from "./message.ts";

/** Cloudflare's sendBatch ceiling. */
const PER_BATCH = 100;

/** Sends one recovery pointer per event, in sendBatch-sized chunks; throws on a failed send. */
export async function sendPointers(env: Env, ids: readonly string[], delaySeconds?: number): Promise<void> {
  for (let i = 0; i < ids.length; i += PER_BATCH)
    await env.RECOVERY_QUEUE.sendBatch(
      ids.slice(i, i + PER_BATCH).map((id) => ({
        body: recoveryPointer(id),
        ...(delaySeconds === undefined ? {} : { delaySeconds }),
      })),
    );
}
