import { ProtocolError } from '../errors.js';
import { writeConsumed, type FailureReason } from '../protocol/index.js';
import type { DeliveryAnswers } from '../server/held-delivery.js';
import type { PeerConnection } from './peer-connection.js';

/**
 * What this node owes a peer for the deliveries that came in on one link:
 * the peer numbers them from 1 on each connection, and waits for CONSUMED.
 * Deliveries settle in the order they came (the local application takes
 * them in order, and what it does not take in time is dropped in order), so
 * the word is cumulative: taken through `taken`, dropped through `settled`.
 * A dropped run followed by a taken one cannot be said in one CONSUMED: the
 * first goes out at once, the second with the next flush.
 *
 * Tickets are the peer's delivery numbers. A link that closed ignores what
 * settles later: the peer sends those deliveries again on its next link,
 * and the application's repeat filter drops any it already had.
 */
export class InboundSettlements implements DeliveryAnswers {
  /** Deliveries received on this link so far (the last one's number). */
  received = 0;
  private taken_ = 0;
  private settled = 0;
  private written = 0;
  private writtenTaken = 0;
  private closed = false;
  /** The send seq of each delivery not settled yet, by number (at most the window's worth). */
  private readonly seqs: Uint32Array;
  private readonly mask: number;

  constructor(
    private readonly conn: PeerConnection,
    /** Deliveries the peer may write beyond what is settled. */
    private readonly window: number,
    /** A delivery was given up unseen: its send seq, so a resend of it is given up too. */
    private readonly gaveUp: (seq: number) => void,
  ) {
    let size = 1;
    while (size <= window) size *= 2;
    this.seqs = new Uint32Array(size);
    this.mask = size - 1;
  }

  /**
   * Numbers a DELIVER (of the send numbered `seq` by its origin) that just
   * came in; throws `ERR_PROTOCOL` when the peer wrote beyond its window.
   */
  next(seq: number): number {
    const n = (this.received = (this.received + 1) >>> 0);
    if ((n - this.settled) >>> 0 > this.window) {
      throw new ProtocolError(
        `peer ${this.conn.peerId} wrote delivery ${n} beyond its window (settled ${this.settled}, window ${this.window})`,
      );
    }
    this.seqs[n & this.mask] = seq;
    return n;
  }

  taken(ticket: number): void {
    if (this.closed) return;
    // A dropped run before this one is said first: CONSUMED cannot say "dropped, then taken".
    if (this.settled !== this.taken_) this.write();
    this.taken_ = this.settled = ticket;
    this.conn.touch();
  }

  lost(ticket: number, _host: string, _reason: FailureReason, _users: () => string[]): void {
    this.gaveUp(this.seqs[ticket & this.mask]!);
    if (this.closed) return;
    this.settled = ticket;
    this.conn.touch();
  }

  /** Writes what settled since the last CONSUMED (called as the link flushes). */
  seal(): void {
    if (this.settled !== this.written || this.taken_ !== this.writtenTaken) this.write();
  }

  /** The link closed: nothing more is owed on it. */
  close(): void {
    this.closed = true;
  }

  private write(): void {
    writeConsumed(this.conn.writer, { taken: this.taken_, settled: this.settled, window: this.window });
    this.written = this.settled;
    this.writtenTaken = this.taken_;
  }
}
