import { DurableObject } from "cloudflare:workers";
import { Gate, type Grant, type MinuteUse, type Want } from "./gate.ts";

/** How often waiters are looked at again while some wait (a lease may expire unreleased). */
const LOOK_AGAIN_MS = 250;
/** How long an event's refusal is remembered, for `/status` to say why it waits. */
const REMEMBER_MS = 120_000;

/**
 * The stack's one place that counts calls to the backend (a Durable Object: one instance, one
 * thread, so every count is strict across all isolates). Callers wait here, up to `waitMs`, for
 * their turn; what it holds is in memory only, and a restart (a deploy) forgets the calls then
 * in flight: for at most one backend timeout they are not counted.
 */
export class BackendLimiter extends DurableObject {
  private readonly gate = new Gate();
  private readonly refused = new Map<string, { limit: string; at: number }>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts a call when it fits every limit it names, waiting at most `waitMs` for it. */
  async acquire(want: Want, waitMs: number): Promise<Grant> {
    const asked = this.gate.ask(want, Date.now());
    if ("grant" in asked) return asked.grant;
    this.schedule();
    const timeout = setTimeout(asked.cancel, waitMs);
    const grant = await asked.waiter;
    clearTimeout(timeout);
    if (grant.granted) this.refused.delete(want.eventId);
    else this.refused.set(want.eventId, { limit: grant.limit, at: Date.now() });
    return grant;
  }

  release(lease: string): void {
    this.gate.release(lease, Date.now());
  }

  /** The limit an event waits for now, or was last refused by (within a couple of minutes). */
  waitingOn(eventId: string): string | null {
    const now = Date.now();
    for (const [id, { at }] of this.refused) if (at < now - REMEMBER_MS) this.refused.delete(id);
    return this.gate.waitingOn(eventId) ?? this.refused.get(eventId)?.limit ?? null;
  }

  usage(): Record<string, MinuteUse[]> {
    return this.gate.usage(Date.now());
  }

  /** Looks at the waiters again when the oldest start leaves its second, or soon anyway. */
  private schedule(): void {
    if (this.timer !== undefined) return;
    const next = this.gate.pump(Date.now());
    if (next === undefined && !this.gate.waitingAny()) return;
    const ms = Math.max(1, Math.min(LOOK_AGAIN_MS, (next ?? Date.now() + LOOK_AGAIN_MS) - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, ms);
  }
}
