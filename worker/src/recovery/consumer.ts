import { callBackend } from "../backend/client.ts";
import { bounded } from "../backend/outcome.ts";
import type { Env } from "../env.ts";
import { log } from "../log.ts";
import { loadEvent, recordOrphan, transition } from "../store/events.ts";
import { recoveryDelay } from "./delay.ts";
import { deliveryDue } from "./hand-over.ts";
import { RecoveryMessageSchema } from "./message.ts";

/**
 * Tier 2: runs what the workflow left undone, from the failed step on, in order, with the
 * event's own ids. Every message ends acknowledged only once its fate is written down.
 */
export async function consumeRecovery(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => recoverOne(message, env)));
}

async function recoverOne(message: Message<unknown>, env: Env): Promise<void> {
  try {
    await attempt(message, env);
  } catch (error) {
    // The store itself failed: try the message again later rather than lose it.
    log.error("recovery.error", { messageId: message.id, error: bounded(String(error)) });
    message.retry({ delaySeconds: recoveryDelay(env, message.attempts) });
  }
}

async function attempt(message: Message<unknown>, env: Env): Promise<void> {
  const now = Date.now();
  const pointer = RecoveryMessageSchema.safeParse(message.body);
  if (!pointer.success) {
    await recordOrphan(
      env.DB,
      `orphan_${message.id}`,
      bodyText(message.body),
      "Unreadable recovery message",
      now,
    );
    return message.ack();
  }
  const event = await loadEvent(env.DB, pointer.data.eventId);
  if (!event) {
    await recordOrphan(
      env.DB,
      pointer.data.eventId,
      bodyText(message.body),
      "No stored event for this id",
      now,
    );
    return message.ack();
  }
  // Delivered, dead or discarded meanwhile, or an orphan record: nothing to run.
  if (event.state !== "retrying" || !event.job) return message.ack();

  const { job } = event;
  const fields = { eventId: job.id, traceId: job.traceId, attempt: message.attempts };
  const steps = [...event.remainingSteps];
  while (steps.length > 0) {
    const step = steps[0] as string;
    const outcome = await callBackend(env, job, step);
    log.info("recovery.call", { ...fields, step, outcome: outcome.kind });
    if (outcome.kind === "done") {
      const before = [...steps];
      steps.shift();
      const history = { tier: "queue", step, outcome: "done", detail: null } as const;
      // Only from the progress this chain read: a chain that is no longer the event's (settled,
      // or another chain got further) stops instead of putting progress back.
      const guard = { remainingSteps: before };
      if (
        !(await transition(
          env.DB,
          job.id,
          "retry",
          "recovery",
          { remainingSteps: steps, calls: { ok: 1 } },
          history,
          Date.now(),
          guard,
        ))
      )
        return message.ack();
      continue;
    }
    if (outcome.kind === "dead") {
      const error = `${step} failed permanently: ${outcome.reason}`;
      await transition(env.DB, job.id, "bury", "recovery", settled(error), history("dead", step, error));
      return message.ack();
    }
    const error = `${step} failed: ${outcome.reason}`;
    const delaySeconds = recoveryDelay(env, message.attempts, outcome.afterMs);
    await transition(
      env.DB,
      job.id,
      "retry",
      "recovery",
      { lastError: error, attempts: 1, dueAt: deliveryDue(env, Date.now(), delaySeconds) },
      history("retrying", step, error),
    );
    return message.retry({ delaySeconds });
  }
  await transition(env.DB, job.id, "recover", "recovery", settled(null), history("delivered", null, null));
  message.ack();
}

const settled = (error: string | null) => ({
  ...(error === null ? {} : { lastError: error }),
  attempts: 1,
  dueAt: null,
});
const history = (outcome: string, step: string | null, detail: string | null) =>
  ({ tier: "queue", step, outcome, detail }) as const;

/**
 * Tier 3: the queue gave up on these. Each event is marked dead with its last error, kept and
 * replayable; a message that matches no event is kept as a dead orphan.
 */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      await markDead(message, env);
      message.ack();
    } catch (error) {
      // D1 is failing: keep the message (this queue retries for hours) rather than drop it.
      log.error("recovery.dead-letter-error", { messageId: message.id, error: bounded(String(error)) });
      message.retry();
    }
  }
}

async function markDead(message: Message<unknown>, env: Env): Promise<void> {
  const now = Date.now();
  const pointer = RecoveryMessageSchema.safeParse(message.body);
  const id = pointer.success ? pointer.data.eventId : `orphan_${message.id}`;
  const event = pointer.success ? await loadEvent(env.DB, id) : undefined;
  if (event) {
    const reason = bounded(`Recovery queue exhausted its retries; last error: ${event.lastError}`);
    await transition(
      env.DB,
      id,
      "bury",
      "dead-letter",
      { lastError: reason, dueAt: null },
      { tier: "dead-letter", step: null, outcome: "dead", detail: reason },
      now,
    );
  } else {
    await recordOrphan(env.DB, id, bodyText(message.body), "Dead-lettered message with no stored event", now);
  }
  log.warn("recovery.dead", { eventId: id, traceId: event?.traceId });
}

function bodyText(body: unknown): string {
  const text = typeof body === "string" ? body : (JSON.stringify(body) ?? String(body));
  return text.slice(0, 4096);
}
