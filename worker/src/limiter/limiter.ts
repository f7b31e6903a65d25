import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { Gate, type Grant, type StartedCall, type Want } from "./gate.ts";
import type { MinuteUse } from "./usage.ts";

/** How often waiters are looked at again while some wait (a lease may expire unreleased). */
const LOOK_AGAIN_MS = 250;
/** How long a started call's row is kept: past the longest second a limit counts. */
const KEEP_MS = 2_000;
/** How long an event's refusal is remembered, for `/status` to say why it waits. */
const REMEMBER_MS = 120_000;

/**
 * The stack's one place that counts calls to the backend (a Durable Object: one instance, one
 * thread, so every count is strict across all isolates). Callers wait here, up to `waitMs`, for
 * their turn. Every started call is also written to the object's own SQLite storage (one row,
 * marked when it ends, gone once it no longer counts), so a restart (a deploy, an eviction)
 * still counts the calls started before it.
 */
export class BackendLimiter extends DurableObject<Env> {
  private readonly gate: Gate;
  private readonly refused = new Map<string, { limit: string; at: number }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS calls (lease TEXT PRIMARY KEY, keys TEXT NOT NULL, at INTEGER NOT NULL,
         until INTEGER NOT NULL, released INTEGER NOT NULL DEFAULT 0)`,
    );
    const now = Date.now();
    this.forget(now);
    const earlier = this.sql
      .exec<{ lease: string; keys: string; at: number; until: number; released: number }>(
        "SELECT lease, keys, at, until, released FROM calls",
      )
      .toArray()
      .map((r): StartedCall => ({ ...r, keys: JSON.parse(r.keys) as string[], released: r.released === 1 }));
    this.gate = new Gate(
      {
        started: (call) =>
          this.sql.exec(
            "INSERT INTO calls (lease, keys, at, until) VALUES (?, ?, ?, ?)",
            call.lease,
            JSON.stringify(call.keys),
            call.at,
            call.until,
          ),
        released: (lease) => this.sql.exec("UPDATE calls SET released = 1 WHERE lease = ?", lease),
      },
      earlier,
    );
  }

  /** Drops the rows that no longer count: ended (or past their lease) and out of their second. */
  private forget(now: number): void {
    this.sql.exec("DELETE FROM calls WHERE at <= ? AND (released = 1 OR until <= ?)", now - KEEP_MS, now);
  }

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
    this.forget(Date.now());
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
