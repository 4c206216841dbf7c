/**
 * Turns dropped channel messages into coded warnings for the client, at most
 * one per reason per second: a flood of garbage on a channel must not become
 * a flood of events. The link's stats keep the exact counts.
 */
import { AuthError, ProtocolError, type RelayError } from '../../errors.js';
import type { ChannelStats, DropReason } from './channel-reader.js';

const QUIET_MS = 1000;

const WHAT: Record<DropReason, string> = {
  malformed: 'a malformed channel message (not a batch of DELIVER frames from the sender it names)',
  forged: 'a channel message without a valid MAC (altered, forged, or from a node without the shared secret)',
  replayed: 'a replayed channel message (a batch already taken, or from an older link of its sender)',
  stale: "a stale channel message (stamped before this link subscribed: a replay, or the sender's clock is behind)",
};

export class DropWarnings {
  private readonly lastAt = new Map<DropReason, number>();
  private readonly since = new Map<DropReason, number>();

  constructor(private readonly emit: (error: RelayError) => void) {}

  /** A message was dropped for `reason`; `stats` holds the counts so far. */
  dropped(reason: DropReason, stats: ChannelStats, channel: string): void {
    const now = Date.now();
    const quiet = now - (this.lastAt.get(reason) ?? -Infinity) >= QUIET_MS;
    if (!quiet) {
      this.since.set(reason, (this.since.get(reason) ?? 0) + 1);
      return;
    }
    const more = this.since.get(reason) ?? 0;
    this.lastAt.set(reason, now);
    this.since.set(reason, 0);
    const tail = `on ${channel}, not delivered (${stats[reason]} ${reason} so far on this link${more > 0 ? `, ${more} not reported one by one` : ''})`;
    const message = `dropped ${WHAT[reason]} ${tail}`;
    this.emit(reason === 'malformed' ? new ProtocolError(message) : new AuthError(message));
  }
}
