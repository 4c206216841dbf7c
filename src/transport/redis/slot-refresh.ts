/**
 * Keeps a cluster client's slot map honest for the sends that rely on it.
 *
 * After a failover in which the old master stays up as a replica, a client
 * that has not been told (ioredis refreshes its map on a MOVED reply, or on
 * a timer that is off by default) keeps sending SPUBLISH to the replica,
 * which answers 0 subscribers without a MOVED: every message to that shard
 * would be reported offline for good. So when a target that had a subscriber
 * is suddenly reached by nobody, the client asks for the map again, at most
 * once per {@link REFRESH_EVERY_MS}. A target that stays offline costs
 * nothing: ioredis makes a connection for each refresh, and a refresh holds
 * up the client's other commands.
 */
import type { Lane } from './outbox.js';
import type { RedisClientLike } from './redis-client-like.js';

export const REFRESH_EVERY_MS = 1000;

export class SlotRefresher {
  private lastAt = -Infinity;

  constructor(private readonly pub: RedisClientLike) {}

  /** Notes what each batch of a flush reached (`counts[i]` subscribers for the target `lanes[i]`). */
  counted(lanes: Lane[], counts: ArrayLike<number>): void {
    let lost = false;
    for (let i = 0; i < lanes.length; i++) {
      const reached = counts[i]! > 0;
      if (!reached && lanes[i]!.reached) lost = true;
      lanes[i]!.reached = reached;
    }
    if (lost) this.refresh();
  }

  private refresh(): void {
    const now = Date.now();
    if (now - this.lastAt < REFRESH_EVERY_MS || this.pub.refreshSlotsCache === undefined) return;
    this.lastAt = now;
    // A failed refresh is ioredis's to report; the next miss tries again.
    this.pub.refreshSlotsCache(() => {});
  }
}
