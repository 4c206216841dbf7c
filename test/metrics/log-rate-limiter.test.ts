import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogRateLimiter } from '../../src/metrics/log-rate-limiter.js';

describe('LogRateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets `max` lines through per interval, then sums up the rest in one line when the interval ends', () => {
    const summaries: number[] = [];
    const limiter = new LogRateLimiter({ max: 3, intervalMs: 1_000, onSuppressed: (count) => summaries.push(count) });
    const admitted = Array.from({ length: 10 }, () => limiter.admit());
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(summaries).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(summaries).toEqual([7]);
    // A new interval: lines pass again, and nothing was held back, so no summary comes.
    expect(limiter.admit()).toBe(true);
    vi.advanceTimersByTime(5_000);
    expect(summaries).toEqual([7]);
  });

  it('stop() drops a pending summary: nothing fires after its owner closed', () => {
    const summaries: number[] = [];
    const limiter = new LogRateLimiter({ max: 1, intervalMs: 1_000, onSuppressed: (count) => summaries.push(count) });
    limiter.admit();
    limiter.admit();
    limiter.stop();
    vi.advanceTimersByTime(2_000);
    expect(summaries).toEqual([]);
  });
});
