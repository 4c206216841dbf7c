import { AuthThrottle } from '../server/auth-throttle.js';

/** Connections from one address that may be in their handshake at a time. */
export const MAX_UNPROVEN_PER_ADDRESS = 16;
/** The longest an address is turned away after failed handshakes. */
const MAX_BLOCK_MS = 5_000;

/**
 * Who a mesh node lets in before the handshake: at most `maxPending`
 * connections in their handshake, at most {@link MAX_UNPROVEN_PER_ADDRESS}
 * of them from one address, and none from an address whose handshakes
 * failed repeatedly, for a while that doubles with each failure (as a
 * relay delays its answers: see `AuthThrottle`). An address guessing the
 * secret gets a few tries, then one every few seconds.
 */
export class AcceptGuard {
  private readonly throttle = new AuthThrottle(MAX_BLOCK_MS);
  private readonly blockedUntil = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private total = 0;

  constructor(private readonly maxPending: number) {}

  /** True when a connection from `address` may start its handshake now (then {@link done} must follow). */
  admit(address: string, now: number): boolean {
    const until = this.blockedUntil.get(address);
    if (until !== undefined) {
      if (now < until) return false;
      this.blockedUntil.delete(address);
    }
    const fromAddress = this.pending.get(address) ?? 0;
    if (this.total >= this.maxPending || fromAddress >= MAX_UNPROVEN_PER_ADDRESS) return false;
    this.pending.set(address, fromAddress + 1);
    this.total++;
    return true;
  }

  /** The handshake of a connection admitted from `address` ended; `failedAuth` when it failed to prove the secret. */
  done(address: string, failedAuth: boolean, now: number): void {
    const left = (this.pending.get(address) ?? 1) - 1;
    if (left > 0) this.pending.set(address, left);
    else this.pending.delete(address);
    this.total = Math.max(0, this.total - 1);
    if (!failedAuth) return;
    const delay = this.throttle.failed(address, now);
    if (delay > 0) this.blockedUntil.set(address, now + delay);
  }
}
