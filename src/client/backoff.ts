/** How a client waits between reconnection attempts. */
export interface ReconnectOptions {
  /** Delay before the first retry. Default 100 ms. */
  initialDelayMs?: number | undefined;
  /** Ceiling of the delay. Default 10000 ms. */
  maxDelayMs?: number | undefined;
  /** Growth per attempt. Default 2. */
  factor?: number | undefined;
  /**
   * Fraction of the delay that is randomised, from 0 (none) to 1 (anywhere
   * from zero to the full delay). Spreads out a fleet of nodes reconnecting to
   * a restarted relay. Default 0.5.
   */
  jitter?: number | undefined;
  /** Attempts before giving up for good. Default unlimited. */
  maxAttempts?: number | undefined;
}

export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/**
 * Decides the delay before reconnection attempt `attempt` (1 for the first
 * retry), or `null` to stop retrying.
 */
export type RetryStrategy = (attempt: number) => number | null;

/**
 * Exponential backoff with jitter: the delay grows by `factor` per attempt up
 * to `maxDelayMs`, and a `jitter` share of it is random.
 */
export function exponentialBackoff(options: ReconnectOptions = {}, random: () => number = Math.random): RetryStrategy {
  const o = {
    initialDelayMs: options.initialDelayMs ?? RECONNECT_DEFAULTS.initialDelayMs,
    maxDelayMs: options.maxDelayMs ?? RECONNECT_DEFAULTS.maxDelayMs,
    factor: options.factor ?? RECONNECT_DEFAULTS.factor,
    jitter: options.jitter ?? RECONNECT_DEFAULTS.jitter,
    maxAttempts: options.maxAttempts ?? RECONNECT_DEFAULTS.maxAttempts,
  };
  return (attempt) => {
    if (attempt > o.maxAttempts) return null;
    const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** (attempt - 1));
    return Math.round(base * (1 - o.jitter * random()));
  };
}
