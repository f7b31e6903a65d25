import { limitedCall } from "../backend/limits.ts";
import type { Env } from "../env.ts";
import { bounded } from "../events/bounds.ts";
import { isState } from "../lifecycle/machine.ts";
import { log } from "../log.ts";
import { delayScale } from "../settings/vars.ts";
import { ALL_STEPS, loadEvent, recordOrphan, type StoredEvent } from "../store/events.ts";
import { transition } from "../store/transitions.ts";
import { recoveryDelay } from "./delay.ts";
import { deliveryDue } from "./hand-over.ts";
import { readRecoveryMessage, recoveryPointer } from "./message.ts";

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
  const pointer = readRecoveryMessage(message.body);
  if (pointer.kind === "newer") {
    // A newer release's format (a rollback met its messages): keep it on the ladder, so a
    // release that reads it can still run it; the dead-letter tier keeps it if none comes.
    log.warn("recovery.newer-message", { messageId: message.id, version: pointer.version });
    return message.retry({ delaySeconds: recoveryDelay(env, message.attempts) });
  }
  if (pointer.kind === "unreadable") {
    await recordOrphan(
      env.DB,
      `orphan_${message.id}`,
      bodyText(message.body),
      "Unreadable recovery message",
      now,
    );
    return message.ack();
  }
  const event = await loadEvent(env.DB, pointer.eventId);
  if (!event) {
    await recordOrphan(env.DB, pointer.eventId, bodyText(message.body), "No stored event for this id", now);
    return message.ack();
  }
  if (!isState(event.state)) {
    // A state a newer release wrote: left alone, the pointer kept for a release that knows it.
    log.warn("recovery.unknown-state", { eventId: event.id, state: event.state });
    return message.retry({ delaySeconds: recoveryDelay(env, message.attempts) });
  }
  // Delivered, dead or discarded meanwhile, or an orphan record: nothing to run.
  if (event.state !== "retrying") return message.ack();
  if (event.unroutable !== undefined) {
    // This release cannot run it: say why, and wait on the ladder like any failure. A release
    // that can route it may deliver it meanwhile; else the dead-letter tier ends it dead.
    const delaySeconds = recoveryDelay(env, message.attempts);
    await transition(env.DB, event.id, {
      name: "retry",
      by: "recovery",
      changes: {
        lastError: event.unroutable,
        attempts: 1,
        dueAt: deliveryDue(env, Date.now(), delaySeconds),
      },
      note: { outcome: "unroutable", detail: event.unroutable },
    });
    return message.retry({ delaySeconds });
  }
  if (!event.job) return message.ack();
  // Which steps ran was unknown when it was stored: name them now, once, so this chain's
  // progress is recorded step by step like any other.
  if (
    event.allSteps &&
    !(await transition(env.DB, event.id, {
      name: "retry",
      by: "recovery",
      changes: { remainingSteps: event.remainingSteps },
      guard: { remainingSteps: ALL_STEPS },
    }))
  )
    return message.ack();

  const { job } = event;
  if (!(await claimDelivery(env, event, now))) {
    // Not due yet, or another copy of this pointer runs it: a duplicate (a re-send of a pointer
    // that was only late, say). The chain that owns the delivery goes on; nothing is lost.
    log.info("recovery.duplicate", { eventId: job.id, messageId: message.id });
    return message.ack();
  }
  const fields = { eventId: job.id, traceId: job.traceId, attempt: message.attempts };
  const steps = [...event.remainingSteps];
  while (steps.length > 0) {
    const step = steps[0] as string;
    const outcome = await limitedCall(env, job, step, RECOVERY_WAIT_MS);
    log.info("recovery.call", { ...fields, step, outcome: outcome.kind });
    if (outcome.kind === "throttled") {
      // Its turn at a backend limit did not come: not a failed delivery, so no attempt is used.
      // The chain goes on from a fresh pointer (this message acknowledged); its claim is moved
      // to that pointer's time, so the reconciler re-sends it only if that one is lost.
      const delaySeconds = Math.max(1, Math.round(THROTTLED_DELAY_SECONDS * delayScale(env)));
      await transition(env.DB, job.id, {
        name: "retry",
        by: "recovery",
        changes: { dueAt: deliveryDue(env, Date.now(), delaySeconds) },
        guard: { remainingSteps: steps },
      });
      await env.RECOVERY_QUEUE.send(recoveryPointer(job.id), { delaySeconds });
      return message.ack();
    }
    if (outcome.kind === "done") {
      const before = [...steps];
      steps.shift();
      // Only from the progress this chain read: a chain that is no longer the event's (settled,
      // or another chain got further) stops instead of putting progress back.
      const guard = { remainingSteps: before };
      if (
        !(await transition(env.DB, job.id, {
          name: "retry",
          by: "recovery",
          changes: { remainingSteps: steps, calls: { ok: 1 } },
          note: { outcome: "done", step },
          guard,
        }))
      )
        return message.ack();
      continue;
    }
    if (outcome.kind === "dead") {
      const error = `${step} failed permanently: ${outcome.reason}`;
      await transition(env.DB, job.id, {
        name: "bury",
        by: "recovery",
        changes: settled(error),
        note: { outcome: "dead", step, detail: error },
      });
      return message.ack();
    }
    const error = `${step} failed: ${outcome.reason}`;
    const delaySeconds = recoveryDelay(env, message.attempts, outcome.afterMs);
    await transition(env.DB, job.id, {
      name: "retry",
      by: "recovery",
      changes: { lastError: error, attempts: 1, dueAt: deliveryDue(env, Date.now(), delaySeconds) },
      note: { outcome: "retrying", step, detail: error },
    });
    return message.retry({ delaySeconds });
  }
  await transition(env.DB, job.id, {
    name: "recover",
    by: "recovery",
    changes: settled(null),
    note: { outcome: "delivered" },
  });
  message.ack();
}

/** How long a recovery call waits for its turn at a backend limit, and then for its next pointer. */
const RECOVERY_WAIT_MS = 30_000;
const THROTTLED_DELAY_SECONDS = 10;

/** A pointer may arrive this much before the delivery it was sent for (queues' delays are approximate). */
const EARLY_MS = 2_000;

/**
 * One chain per delivery, and only once it is due: moves `due_at` on from the value read, so of
 * two copies of a pointer that arrive together only one runs, and one for a delivery not due yet
 * runs nothing. The claim reads as a delivery a grace period ahead, so a copy that arrives while
 * the chain is still calling (a hand-over's re-send after a lost answer, a reconciler's re-send)
 * also runs nothing. If the runner dies, the reconciler re-sends once the claim has passed.
 */
async function claimDelivery(env: Env, event: StoredEvent, now: number): Promise<boolean> {
  if (event.dueAt === null) return true;
  const grace = deliveryDue(env, now, 0) - now;
  const expected = event.dueAt - grace;
  if (expected > now + EARLY_MS) return false;
  return transition(env.DB, event.id, {
    name: "retry",
    by: "recovery",
    changes: { dueAt: Math.max(now + 2 * grace, event.dueAt + 1) },
    now,
    guard: { dueBy: event.dueAt },
  });
}

const settled = (error: string | null) => ({
  ...(error === null ? {} : { lastError: error }),
  attempts: 1,
  dueAt: null,
});
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
  const pointer = readRecoveryMessage(message.body);
  const id = pointer.kind === "pointer" ? pointer.eventId : `orphan_${message.id}`;
  const event = pointer.kind === "pointer" ? await loadEvent(env.DB, id) : undefined;
  if (event) {
    const reason = bounded(`Recovery queue exhausted its retries; last error: ${event.lastError}`);
    await transition(env.DB, id, {
      name: "bury",
      by: "dead-letter",
      changes: { lastError: reason, dueAt: null },
      note: { outcome: "dead", detail: reason },
      now,
    });
  } else {
    const reason =
      pointer.kind === "newer"
        ? `Dead-lettered message in format version ${pointer.version}, newer than this release reads`
        : "Dead-lettered message with no stored event";
    await recordOrphan(env.DB, id, bodyText(message.body), reason, now);
  }
  log.warn("recovery.dead", { eventId: id, traceId: event?.traceId });
}

function bodyText(body: unknown): string {
  const text = typeof body === "string" ? body : (JSON.stringify(body) ?? String(body));
  return text.slice(0, 4096);
}
