import { PRIORITIES, type Priority } from "../events/catalog.ts";

/** What a creation waits as: interactive work goes first, and tenants take turns within a class. */
export interface Lane {
  priority: Priority;
  /** The tenant's id, or "" for events without one (one more tenant). */
  tenant: string;
}

interface Waiter {
  n: number;
  /** When it came to the front: one that waited there a while takes whatever is free. */
  front?: number;
  /** After this it no longer wants its turn (and, if its request is gone, cannot say so). */
  until: number;
  /** When it last looked: a live waiter looks at least every LOOK_AGAIN_MS. */
  seen: number;
  /** Wakes the waiter to look again (it became first, or the window may have room). */
  wake?: () => void;
}

/**
 * The share of each second bulk work leaves free: an interactive creation that arrives while a
 * campaign fills the window finds room at once instead of waiting for the window to move on.
 */
const INTERACTIVE_HEADROOM = 0.1;

/**
 * A waiter that has not looked for this long is gone (its request ended or was cancelled, and
 * its timers with it): it is dropped, so it cannot hold the front of the line until its time.
 */
const GONE_AFTER_MS = 2_000;

/** How long a waiter waits for a whole chunk before it takes what is free. */
const PATIENCE_MS = 1_000;

/** How long a waiter sleeps before looking again even if nobody woke it: a lost wake only delays. */
const LOOK_AGAIN_MS = 250;

/**
 * Paces instance creations for everything in this isolate (dispatch requests, reconciler runs):
 * a sliding one-second window, whose rate halves when the platform answers 429 (other isolates
 * and stacks share the account's budget) and climbs back slowly while creations succeed. Who
 * goes next is not who came first: the first waiter of the highest class, and within a class
 * the tenant whose turn it is (round robin), so a campaign of ten thousand events holds up
 * neither a one-time code nor another tenant's ten.
 *
 * Every waiter waits in its own promise chain (and its own timers): in workerd a timer belongs
 * to the request that set it, so no waiter depends on another request staying alive.
 */
export class Pacer {
  private readonly stamps: number[] = [];
  /** Per class, the tenants in turn order (a Map keeps insertion order), each with its waiters. */
  private readonly turns = new Map<Priority, Map<string, Waiter[]>>(PRIORITIES.map((p) => [p, new Map()]));
  private readonly ceiling: number;
  private current: number;

  constructor(perSecond: number) {
    this.ceiling = perSecond;
    this.current = perSecond;
  }

  /** Creations this isolate may make per second now: also the largest chunk worth sending. */
  get rate(): number {
    return Math.floor(this.current);
  }

  /** How many wait, per class (those past their time until someone looks and drops them). */
  waiting(): Record<Priority, number> {
    const count = (p: Priority) =>
      [...(this.turns.get(p)?.values() ?? [])].reduce((sum, queue) => sum + queue.length, 0);
    return Object.fromEntries(PRIORITIES.map((p) => [p, count(p)])) as Record<Priority, number>;
  }

  /**
   * Waits for this lane's turn and the window's room; answers how many (at most n, at most rate),
   * or 0 when `until` passes first.
   */
  async take(n: number, lane: Lane, until: number): Promise<number> {
    const waiter: Waiter = { n: Math.max(1, n), until, seen: Date.now() };
    const tenants = this.turns.get(lane.priority) as Map<string, Waiter[]>;
    const queue = tenants.get(lane.tenant);
    if (queue) queue.push(waiter);
    else tenants.set(lane.tenant, [waiter]);
    this.first()?.wake?.();
    for (;;) {
      waiter.seen = Date.now();
      if (!this.holds(lane, waiter)) {
        this.first()?.wake?.();
        return 0;
      }
      let ms = Math.min(LOOK_AGAIN_MS, Math.max(1, until + 1 - Date.now()));
      if (this.first() === waiter) {
        const now = Date.now();
        while (this.stamps.length > 0 && (this.stamps[0] as number) <= now - 1000) this.stamps.shift();
        const room = this.roomFor(lane.priority);
        waiter.front ??= now;
        // A whole chunk when it fits (fewer, fuller calls); interactive work also takes an eighth
        // of its room at once (a lone code never waits for a window), and a waiter that has waited
        // a second takes whatever is free (a trickle of codes that never lets the window empty
        // cannot keep a bulk chunk out for good).
        const free = room - this.stamps.length;
        const whole = Math.min(waiter.n, room);
        const least =
          now - waiter.front >= PATIENCE_MS
            ? 1
            : lane.priority === "interactive"
              ? Math.min(whole, Math.ceil(room / 8))
              : whole;
        const granted = Math.min(waiter.n, room, Math.max(free, 0));
        if (granted >= least) {
          for (let i = 0; i < granted; i++) this.stamps.push(now);
          this.leave(lane);
          this.first()?.wake?.();
          return granted;
        }
        const oldest = this.stamps[Math.max(0, this.stamps.length + least - room - 1)] as number;
        ms = Math.min(ms, Math.max(1, oldest + 1001 - now));
      }
      // The timer is left to run out when woken: it belongs to this request, the wake may not.
      await new Promise<void>((resolve) => {
        setTimeout(resolve, ms);
        waiter.wake = resolve;
      });
      waiter.wake = undefined;
    }
  }

  /** How much of a second's window a class may fill (at least one creation). */
  private roomFor(priority: Priority): number {
    if (priority === "interactive") return this.rate;
    return Math.max(1, this.rate - Math.ceil(this.rate * INTERACTIVE_HEADROOM));
  }

  /** Gives back creations taken but not made (the shared budget granted fewer): newest first. */
  refund(n: number): void {
    if (n > 0) this.stamps.splice(Math.max(0, this.stamps.length - n), n);
  }

  /** The platform refused for rate: back off to half. */
  slowDown(): void {
    this.current = Math.max(1, this.current / 2);
  }

  /** A chunk went through: recover a tenth of the way back. */
  speedUp(): void {
    this.current = Math.min(this.ceiling, this.current + Math.max(1, this.ceiling / 10));
  }

  /**
   * The waiter whose turn it is: the highest class's tenant at the front of its turn order.
   * Waiters past their time, or gone quiet, are dropped on the way: one whose request ended
   * cannot leave itself.
   */
  private first(): Waiter | undefined {
    const now = Date.now();
    for (const priority of PRIORITIES) {
      const tenants = this.turns.get(priority) as Map<string, Waiter[]>;
      for (const [tenant, queue] of tenants) {
        const live = queue.filter((w) => w.until >= now && w.seen >= now - GONE_AFTER_MS);
        if (live.length === 0) tenants.delete(tenant);
        else {
          if (live.length < queue.length) queue.splice(0, queue.length, ...live);
          return live[0];
        }
      }
    }
    return undefined;
  }

  /** Whether the waiter still waits in its lane (it is dropped when its time passed). */
  private holds(lane: Lane, waiter: Waiter): boolean {
    return (
      waiter.until >= Date.now() &&
      (this.turns.get(lane.priority)?.get(lane.tenant)?.includes(waiter) ?? false)
    );
  }

  /** The lane's first waiter was served: its tenant goes to the back of the turn order. */
  private leave(lane: Lane): void {
    const tenants = this.turns.get(lane.priority) as Map<string, Waiter[]>;
    const queue = tenants.get(lane.tenant) as Waiter[];
    queue.shift();
    tenants.delete(lane.tenant);
    if (queue.length > 0) tenants.set(lane.tenant, queue);
  }
}
