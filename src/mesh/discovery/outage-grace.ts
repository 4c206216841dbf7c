import { sorted } from './registry-script.js';

/**
 * Members known before a failed read, kept through the reads after it until
 * each is seen back or `graceMs` has passed. A Redis that lost its data (a
 * restart, a failover to a replica behind) has the members back only as
 * each refreshes; a node told meanwhile that they left would drop its links
 * to all of them, only to make them again.
 */
export class OutageGrace {
  private until = 0;
  private missing = new Map<string, string>();

  constructor(private readonly graceMs: number) {}

  /** Starts a grace for `last`, the map handed on before the failure. */
  begin(last: ReadonlyMap<string, string>, now: number): void {
    this.until = now + this.graceMs;
    this.missing = new Map(last);
  }

  /** `fresh` (a read's members), with those not back yet. */
  merge(fresh: Map<string, string>, now: number): Map<string, string> {
    if (now >= this.until) this.missing.clear();
    // Back once is back: a later absence is a real leave.
    for (const id of fresh.keys()) this.missing.delete(id);
    if (this.missing.size === 0) return fresh;
    for (const [id, address] of this.missing) fresh.set(id, address);
    return sorted(fresh);
  }

  /** Milliseconds until the members kept are let go, when some are. */
  msLeft(now: number): number | undefined {
    return this.missing.size > 0 ? Math.max(0, this.until - now) : undefined;
  }
}
