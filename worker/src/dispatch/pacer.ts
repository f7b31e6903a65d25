/**
 * A sliding one-second window of instance creations, shared by everything in this isolate
 * (dispatch requests, reconciler runs): `take(n)` resolves when n more fit under the rate.
 */
export class Pacer {
  private readonly stamps: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  private readonly perSecond: number;

  constructor(perSecond: number) {
    this.perSecond = perSecond;
  }

  /** Reserves n creations (n ≤ perSecond), waiting as long as the window needs. */
  take(n: number): Promise<void> {
    const turn = this.queue.then(() => this.reserve(Math.min(n, this.perSecond)));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async reserve(n: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.stamps.length > 0 && (this.stamps[0] as number) <= now - 1000) this.stamps.shift();
      if (this.stamps.length + n <= this.perSecond) {
        for (let i = 0; i < n; i++) this.stamps.push(now);
        return;
      }
      const oldest = this.stamps[this.stamps.length + n - this.perSecond - 1] as number;
      await new Promise((r) => setTimeout(r, Math.max(1, oldest + 1001 - now)));
    }
  }
}
