/** Failed handshakes an address may make before its answers are slowed down. */
const FREE_FAILURES = 3;
/** The first delay, doubled per further failure up to the configured maximum. */
const BASE_DELAY_MS = 100;
/** Quiet time after which an address's failures are forgotten. */
const FORGET_AFTER_MS = 60_000;
/** Addresses remembered at most: the oldest are forgotten first. */
const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  last: number;
}

/**
 * Slows down repeated failed handshakes from one address: after a few, the
 * relay waits before answering a failed proof (and closing), doubling the
 * wait per failure up to a maximum. With the cap on unauthenticated
 * connections per address, this bounds how fast one address can guess
 * secrets, without locking out an honest node that shares it.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly maxDelayMs: number) {}

  /** Records a failed handshake from `address`; returns how long to wait before answering it. */
  failed(address: string, now: number): number {
    let entry = this.failures.get(address);
    if (entry === undefined || now - entry.last > FORGET_AFTER_MS) {
      entry = { count: 0, last: now };
    }
    entry.count++;
    entry.last = now;
    // Re-inserted so the map stays ordered by last failure: the oldest go first.
    this.failures.delete(address);
    this.failures.set(address, entry);
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    if (entry.count <= FREE_FAILURES) return 0;
    return Math.min(this.maxDelayMs, BASE_DELAY_MS * 2 ** Math.min(entry.count - FREE_FAILURES - 1, 20));
  }

  /** Addresses with failures on record (for stats and tests). */
  get size(): number {
    return this.failures.size;
  }
}
