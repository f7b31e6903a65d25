import { checkAlerts } from "./alerts/check.ts";
import { app } from "./app.ts";
import type { Env } from "./env.ts";
import { log } from "./log.ts";
import { reconcile } from "./reconciler/run.ts";
import { consumeDeadLetters, consumeRecovery } from "./recovery/consumer.ts";
import { purgeExpired } from "./recovery/retention.ts";
import { RETENTION, VARS } from "./topology.ts";

export { BackendLimiter } from "./limiter/limiter.ts";
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

  /**
   * Every minute the reconciler, the alert check and a bounded retention sweep.
   * Each part catches its own failures, so one cannot keep another from running.
   */
  async scheduled(controller, env) {
    // Beside the rest, not before it: the check never throws, and its webhook call (bounded by
    // ALERTS.timeoutMs) delays neither the reconciler nor the sweep; awaited only at the end.
    const alerts = checkAlerts(env, Date.now());
    try {
      // Now, not the scheduled time: a late run must see what is overdue by now.
      const report = await reconcile(env, Date.now());
      log.info("reconcile.done", { ...report });
      // Retention too, bounded per run, every minute (so it keeps up with one database's
      // capacity); on the retention schedule it is logged whatever it did.
      try {
        const purged = await purgeExpired(env, Date.now());
        if (controller.cron === RETENTION.cron || Object.values(purged).some((n) => n > 0))
          log.info("retention.purged", { ...purged });
      } catch (error) {
        log.error("retention.failed", { error: error instanceof Error ? error.message : "unknown" });
      }
    } finally {
      await alerts;
    }
  },
} satisfies ExportedHandler<Env, unknown>;
