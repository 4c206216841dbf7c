/**
 * A histogram with fixed bucket bounds, for latencies: observing is a short
 * scan and two additions on preallocated numbers, so it may sit on a path
 * taken once per message.
 *
 * Values are observed in the unit the caller measures (milliseconds, from
 * `Date.now()`); `scale` converts to the exposition's base unit (1000: to
 * seconds).
 */
export class Histogram {
  /** Observations per bucket: `counts[i]` holds those above `bounds[i - 1]` and up to `bounds[i]`. */
  readonly counts: Float64Array;
  /** Every observation, those above the last bound included. */
  count = 0;
  sum = 0;

  constructor(
    /** Upper bounds, ascending, in the observed unit. */
    readonly bounds: readonly number[],
    /** Observed units per base unit of the exposition. */
    readonly scale = 1,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.count++;
    this.sum += value;
  }
}

/** Bounds for a request-to-answer latency in milliseconds: 1 ms to 10 s. */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
