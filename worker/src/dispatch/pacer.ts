/**
 * Paces instance creations for everything in this isolate (dispatch requests, reconciler runs):
 * a sliding one-second window, whose rate halves when the platform answers 429 (other isolates
 * and stacks share the account's budget) and climbs back slowly while creations succeed.
 */
export class Pacer {
  private readonly stamps: number[] = [];
  private queue: Promise<void> = Promise.resolve();
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

  /** Reserves n creations (n ≤ rate), waiting as long as the window needs. */
  take(n: number): Promise<void> {
    const turn = this.queue.then(() => this.reserve(Math.min(n, this.rate)));
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** The platform refused for rate: back off to half. */
  slowDown(): void {
    this.current = Math.max(1, this.current / 2);
  }

  /** A chunk went through: recover a tenth of the way back. */
  speedUp(): void {
    this.current = Math.min(this.ceiling, this.current + Math.max(1, this.ceiling / 10));
  }

  private async reserve(n: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.stamps.length > 0 && (this.stamps[0] as number) <= now - 1000) this.stamps.shift();
      const limit = this.rate;
      if (this.stamps.length + n <= limit) {
        for (let i = 0; i < n; i++) this.stamps.push(now);
        return;
      }
      const oldest = this.stamps[Math.max(0, this.stamps.length + n - limit - 1)] as number;
      await new Promise((r) => setTimeout(r, Math.max(1, oldest + 1001 - now)));
    }
  }
}
