/** How a {@link LogRateLimiter} bounds one kind of line. */
export interface LogRateLimit {
  /** Lines let through per interval. */
  max: number;
  intervalMs: number;
  /**
   * Called once at the end of an interval in which lines were held back, with
   * how many: a flood shows in the log as one summary, not as silence.
   */
  onSuppressed(count: number, intervalMs: number): void;
}

/**
 * Bounds how often one kind of log line is written. A peer that sends
 * garbage in a loop, or a scanner trying secrets, must not be able to fill
 * the disk or drown the lines that matter; the counters in `/metrics` still
 * count every event.
 *
 * A fixed window: the first `max` lines of each interval pass, the rest are
 * counted and reported in one line when the interval ends.
 */
export class LogRateLimiter {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limit: LogRateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this line may be written; false when it is held back (and counted). */
  admit(): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.limit.intervalMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used < this.limit.max) {
      this.used++;
      return true;
    }
    if (this.suppressed++ === 0) {
      this.timer = setTimeout(this.report, this.windowStart + this.limit.intervalMs - now);
      // A summary still owed must not keep a process alive that is done.
      this.timer.unref();
    }
    return false;
  }

  /** Stops the pending summary, if any (the owner is closing). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.suppressed = 0;
  }

  private readonly report = (): void => {
    this.timer = undefined;
    const count = this.suppressed;
    this.suppressed = 0;
    if (count > 0) this.limit.onSuppressed(count, this.limit.intervalMs);
  };
}
