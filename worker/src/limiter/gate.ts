import { PRIORITIES, type Priority } from "../events/catalog.ts";
import type { LimitKey } from "../settings/backend-limits.ts";
import { type MinuteUse, Usage } from "./usage.ts";

/** A backend call that wants to start. */
export interface Want {
  eventId: string;
  priority: Priority;
  tenant: string;
  keys: LimitKey[];
  /** How long an unreleased lease counts as in flight (a caller that died never releases). */
  leaseMs: number;
}

/** `at`: when the call was let start, so a caller that got the answer late can tell. */
export type Grant = { granted: true; lease: string; at: number } | { granted: false; limit: string };

interface Waiter {
  want: Want;
  resolve: (grant: Grant) => void;
  /** The first limit it did not fit, for whoever asks why it waits. */
  blockedBy: string;
}

/**
 * A second, as the limits count it: longer than one, so that the way to the backend (a first
 * call's new connection took 100 ms locally) cannot put two seconds' calls into one as the
 * backend sees them. The price: a perSecond limit is used to 1/1.15 of it.
 */
const SECOND_MS = 1150;

/** The share of every limit bulk calls leave free, so a one-time code is not held behind them. */
const INTERACTIVE_HEADROOM = 0.1;

/** A started call as it is kept, so a restarted limiter still counts the calls before it. */
export interface StartedCall {
  lease: string;
  keys: string[];
  at: number;
  /** Until when it counts as in flight, unless released sooner. */
  until: number;
  released: boolean;
}

/** Where started calls are written through to (the Durable Object's own storage). */
export interface Journal {
  started(call: StartedCall): void;
  released(lease: string): void;
}

/**
 * Strict counts for the backend's limits, in one place: calls started in the last second and
 * calls in flight, per limit. Calls that do not fit wait in turn: interactive ones first, and
 * within a class tenants in turn (round robin). A waiter that does not fit holds the limits it
 * waits for against those behind it, so nothing behind it can starve it.
 */
export class Gate {
  private readonly started = new Map<string, number[]>();
  private readonly leases = new Map<string, { keys: string[]; until: number }>();
  private readonly inFlight = new Map<string, number>();
  private readonly turns = new Map<Priority, Map<string, Waiter[]>>(PRIORITIES.map((p) => [p, new Map()]));
  private readonly use = new Usage();
  /** Per perSecond limit, the least time between two starts: a second's calls spread over it. */
  private readonly spacing = new Map<string, number>();
  private leaseCount = 0;

  /** `earlier`: the calls a previous run of the limiter started, still in their second or in flight. */
  private readonly journal: Journal | undefined;

  constructor(journal?: Journal, earlier: readonly StartedCall[] = []) {
    this.journal = journal;
    for (const call of earlier) {
      for (const key of call.keys) this.started.set(key, [...(this.started.get(key) ?? []), call.at]);
      if (!call.released) {
        this.leases.set(call.lease, { keys: call.keys, until: call.until });
        for (const key of call.keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      }
    }
  }

  /** Starts the call now if it fits, else queues it; `until` ends the wait with a refusal. */
  ask(want: Want, now: number): { grant: Grant } | { waiter: Promise<Grant>; cancel: () => void } {
    this.expire(now);
    const queued = [...this.waiters()].length > 0;
    if (!queued && this.fits(want, now, new Set())) return { grant: this.start(want, now) };
    let waiter: Waiter | undefined;
    const promise = new Promise<Grant>((resolve) => {
      waiter = { want, resolve, blockedBy: this.blocking(want, now) ?? "its turn" };
    });
    const w = waiter as Waiter;
    const tenants = this.turns.get(want.priority) as Map<string, Waiter[]>;
    tenants.set(want.tenant, [...(tenants.get(want.tenant) ?? []), w]);
    for (const { key } of want.keys) this.count(key, now, "waited");
    this.pump(now);
    return {
      waiter: promise,
      cancel: () => {
        if (this.drop(w)) w.resolve({ granted: false, limit: w.blockedBy });
      },
    };
  }

  /** The call ended: its place in flight is free for the next. */
  release(lease: string, now: number): void {
    const held = this.leases.get(lease);
    if (!held) return;
    this.leases.delete(lease);
    for (const key of held.keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    this.journal?.released(lease);
    this.pump(now);
  }

  /** Grants every waiter that fits now, in turn; answers when a started call leaves a second's window. */
  pump(now: number): number | undefined {
    this.expire(now);
    const held = new Set<string>();
    for (const waiter of [...this.waiters()]) {
      if (this.fits(waiter.want, now, held)) {
        this.drop(waiter);
        waiter.resolve(this.start(waiter.want, now));
      } else {
        // It holds only the limits that are full for it: what it waits for, nobody behind it
        // takes; a limit with room for it stays open to calls that need only that one.
        const full = this.full(waiter.want, now);
        waiter.blockedBy = full[0]?.why ?? waiter.blockedBy;
        for (const { key } of full) held.add(key);
      }
    }
    if (!this.waitingAny()) return undefined;
    // The next moment a count can change: a start leaves its second, or a spacing runs out.
    const moments = [...this.started].flatMap(([key, stamps]) => {
      const last = stamps.at(-1) as number;
      const gap = this.spacing.get(key);
      return [
        (stamps[0] as number) + SECOND_MS,
        ...(gap !== undefined && last + gap > now ? [last + gap] : []),
      ];
    });
    return moments.length > 0 ? Math.min(...moments) : undefined;
  }

  /** Whether any call waits. */
  waitingAny(): boolean {
    return !this.waiters().next().done;
  }

  /** Why an event waits, while it does. */
  waitingOn(eventId: string): string | undefined {
    for (const waiter of this.waiters()) if (waiter.want.eventId === eventId) return waiter.blockedBy;
    return undefined;
  }

  /** Each limit's use per minute over the last hour, oldest first. */
  usage(now: number): Record<string, MinuteUse[]> {
    return this.use.lastHour(now);
  }

  /** Every waiter in turn: by class, then one per tenant at a time, tenants in their turn order. */
  private *waiters(): Generator<Waiter> {
    for (const priority of PRIORITIES) {
      const queues = [...(this.turns.get(priority) as Map<string, Waiter[]>).values()].map((q) => [...q]);
      for (let round = 0; queues.some((q) => round < q.length); round++)
        for (const queue of queues) if (round < queue.length) yield queue[round] as Waiter;
    }
  }

  /** Takes a waiter out of line; its tenant's next waiter goes to the back of the class's turns. */
  private drop(waiter: Waiter): boolean {
    const tenants = this.turns.get(waiter.want.priority) as Map<string, Waiter[]>;
    const queue = tenants.get(waiter.want.tenant);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at < 0) return false;
    queue.splice(at, 1);
    tenants.delete(waiter.want.tenant);
    if (queue.length > 0) tenants.set(waiter.want.tenant, queue);
    return true;
  }

  private fits(want: Want, now: number, held: ReadonlySet<string>): boolean {
    return want.keys.every((limit) => !held.has(limit.key)) && this.full(want, now).length === 0;
  }

  /** The first limit the call would pass, if it started now. */
  private blocking(want: Want, now: number): string | undefined {
    return this.full(want, now)[0]?.why;
  }

  /** The limits the call would pass if it started now, and how to say why. */
  private full(want: Want, now: number): { key: string; why: string }[] {
    const room = (n: number) =>
      want.priority === "interactive" ? n : Math.max(1, n - Math.ceil(n * INTERACTIVE_HEADROOM));
    return want.keys.flatMap((limit) => {
      const stamps = this.started.get(limit.key) ?? [];
      const second = stamps.filter((t) => t > now - SECOND_MS).length;
      const gap = limit.perSecond === undefined ? 0 : SECOND_MS / limit.perSecond;
      if (limit.perSecond !== undefined) this.spacing.set(limit.key, gap);
      const tooSoon = stamps.length > 0 && now - (stamps.at(-1) as number) < gap;
      if (limit.perSecond !== undefined && (second >= room(limit.perSecond) || tooSoon))
        return [{ key: limit.key, why: `${limit.key}: ${limit.perSecond} calls per second` }];
      if (limit.inFlight !== undefined && (this.inFlight.get(limit.key) ?? 0) >= room(limit.inFlight))
        return [{ key: limit.key, why: `${limit.key}: ${limit.inFlight} calls in flight` }];
      return [];
    });
  }

  private start(want: Want, now: number): Grant {
    this.leaseCount += 1;
    const lease = `${now.toString(36)}-${this.leaseCount}-${Math.random().toString(36).slice(2, 8)}`;
    const keys = want.keys.map((k) => k.key);
    this.leases.set(lease, { keys, until: now + want.leaseMs });
    this.journal?.started({ lease, keys, at: now, until: now + want.leaseMs, released: false });
    for (const { key } of want.keys) {
      this.started.set(key, [...(this.started.get(key) ?? []), now]);
      this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      this.count(key, now, "calls");
    }
    return { granted: true, lease, at: now };
  }

  /** Forgets starts older than a second, and leases whose caller never said it was done. */
  private expire(now: number): void {
    for (const [key, stamps] of this.started) {
      const kept = stamps.filter((t) => t > now - SECOND_MS);
      if (kept.length === 0) this.started.delete(key);
      else this.started.set(key, kept);
    }
    for (const [lease, held] of this.leases)
      if (held.until <= now) {
        this.leases.delete(lease);
        for (const key of held.keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      }
  }

  private count(key: string, now: number, what: "calls" | "waited"): void {
    this.use.count(key, now, what, this.inFlight.get(key) ?? 0);
  }
}
