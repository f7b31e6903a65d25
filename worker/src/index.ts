import type { Env } from "./env.ts";
import { app } from "./http/app.ts";
import { log } from "./log.ts";
import { consumeDeadLetters, consumeRecovery } from "./recovery/consumer.ts";
import { purgeExpired } from "./recovery/retention.ts";
import { VARS } from "./topology.ts";

export {
  EmailWorkflow,
  NotificationWorkflow,
  PaymentWorkflow,
  WhatsappWorkflow,
} from "./workflows/classes.ts";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),

  async queue(batch, env) {
    if (batch.queue === (env.DEAD_LETTER_QUEUE_NAME ?? VARS.DEAD_LETTER_QUEUE_NAME)) {
      return consumeDeadLetters(batch, env);
    }
    return consumeRecovery(batch, env);
  },

  async scheduled(controller, env) {
    const removed = await purgeExpired(env, controller.scheduledTime);
    log.info("retention.purged", removed);
  },
} satisfies ExportedHandler<Env, unknown>;
