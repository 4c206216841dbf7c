import type { Latency } from './results.js';

/** Nearest-rank percentiles of the first `n` samples (ms). */
export function summarize(samples: Float64Array, n: number): Latency {
  const sorted = samples.slice(0, n).sort();
  const rank = (p: number): number => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!);
  return { p50: rank(0.5), p99: rank(0.99), p999: rank(0.999), max: n === 0 ? NaN : sorted[n - 1]!, samples: n };
}
