/** Per limit, per minute: calls started, calls that had to wait, the most in flight at once. */
export interface MinuteUse {
  minute: number;
  calls: number;
  waited: number;
  peakInFlight: number;
}

const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;

/** Each limit's use over the last hour, a minute at a time: what the console's overview shows. */
export class Usage {
  private readonly minutes = new Map<string, MinuteUse[]>();

  count(key: string, now: number, what: "calls" | "waited", inFlight: number): void {
    const minute = Math.floor(now / MINUTE_MS);
    const minutes = this.minutes.get(key) ?? [];
    let last = minutes.at(-1);
    if (last?.minute !== minute) {
      last = { minute, calls: 0, waited: 0, peakInFlight: 0 };
      minutes.push(last);
      if (minutes.length > HOUR_MINUTES + 1) minutes.shift();
      this.minutes.set(key, minutes);
    }
    last[what] += 1;
    last.peakInFlight = Math.max(last.peakInFlight, inFlight);
  }

  /** Oldest first; a limit with no call in the hour has no minutes (a tenant's is dropped). */
  lastHour(now: number): Record<string, MinuteUse[]> {
    const since = Math.floor(now / MINUTE_MS) - HOUR_MINUTES;
    for (const [key, minutes] of this.minutes)
      if (!minutes.some((m) => m.minute > since)) this.minutes.delete(key);
    return Object.fromEntries(
      [...this.minutes].map(([key, minutes]) => [key, minutes.filter((m) => m.minute > since)]),
    );
  }
}
