/**
 * Per-org admission control: at most `maxConcurrency` requests in flight, at most `maxRps`
 * request starts per second (token bucket, burst = maxRps), and a shared pause after a 429 so
 * the other requests queued for that org wait too instead of each hitting the limit.
 *
 * Waiters are served in arrival order, so a long reconcile cannot starve a revoke that queued
 * earlier.
 */
export interface LimiterOptions {
  maxConcurrency: number;
  maxRps: number;
}

export class OrgLimiter {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  private tokens: number;
  private lastRefill = Date.now();
  private pausedUntil = 0;
  private pumpTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LimiterOptions) {
    if (!(options.maxConcurrency >= 1)) throw new RangeError('maxConcurrency must be at least 1');
    if (!(options.maxRps > 0)) throw new RangeError('maxRps must be positive');
    this.tokens = options.maxRps;
  }

  /** Resolves when the caller may start a request; the caller must call the returned release. */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiters.push(() => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.inFlight -= 1;
          this.pump();
        });
      });
      this.pump();
    });
  }

  /** Holds back every request of this org until `untilMs` (epoch ms); used after a 429. */
  pauseUntil(untilMs: number): void {
    if (untilMs > this.pausedUntil) this.pausedUntil = untilMs;
  }

  private refill(now: number): void {
    const elapsed = (now - this.lastRefill) / 1000;
    this.lastRefill = now;
    this.tokens = Math.min(this.options.maxRps, this.tokens + elapsed * this.options.maxRps);
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.inFlight < this.options.maxConcurrency) {
      const now = Date.now();
      if (now < this.pausedUntil) return this.wakeAt(this.pausedUntil - now);
      this.refill(now);
      if (this.tokens < 1) return this.wakeAt(((1 - this.tokens) / this.options.maxRps) * 1000);
      this.tokens -= 1;
      this.inFlight += 1;
      const start = this.waiters.shift() as () => void;
      start();
    }
  }

  private wakeAt(delayMs: number): void {
    if (this.pumpTimer) return;
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(delayMs)),
    );
  }
}
