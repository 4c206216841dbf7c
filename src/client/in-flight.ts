import { ProtocolError } from '../errors.js';
import { Fifo } from './fifo.js';
import type { PendingSend } from './pending-send.js';

/**
 * Sends written and waiting for their answer, in send order, and the order
 * answers must keep: the relay answers every send that asked for a report,
 * in the order written, with a REPORT or as part of an ACK run. An answer
 * that breaks the order (a relay that answers send 2 before send 1, or
 * names a send not in flight) throws `ERR_PROTOCOL`: the link is cut, and
 * on an effectively-once link what was unanswered is written again after
 * the reconnect.
 *
 * A send that timed out (`ERR_TIMEOUT`) stays in the order by its seq
 * alone: its late answer is expected, and ignored. Those seqs are held
 * until answered or until the link drops, 8 bytes each; past
 * {@link MAX_OVERDUE} the oldest is forgotten (its answer, should it still
 * come, then breaks the order and the link is cut).
 */
export class InFlight {
  private readonly waiting = new Fifo<PendingSend>();
  /** Seqs of sends that timed out before the ones in {@link waiting}, oldest first. */
  private readonly overdue = new Fifo<number>();

  /** Sends waiting for their answer. */
  get length(): number {
    return this.waiting.length;
  }

  push(entry: PendingSend): void {
    this.waiting.push(entry);
  }

  /**
   * The send a full REPORT for `seq` answers: the oldest send in flight.
   * Returns undefined for a send that timed out already. Throws
   * `ERR_PROTOCOL` for any other seq.
   */
  report(seq: number): PendingSend | undefined {
    const late = this.overdue.peek();
    if (late !== undefined) {
      if (late !== seq) throw outOfOrder('report', seq, late);
      this.overdue.shift();
      return undefined;
    }
    const head = this.waiting.peek();
    if (head === undefined || head.seq !== seq) throw outOfOrder('report', seq, head?.seq);
    return this.waiting.shift();
  }

  /**
   * Settles the sends an ACK answers: `count` sends from seq `first`, which
   * must be the oldest in flight, each the next seq (mod 2^32) and each a
   * `send` that asked for a report. Throws `ERR_PROTOCOL` at the first that
   * is not (those before it are settled: their answers were in order). The
   * work is bounded by what is in flight, whatever `count` claims.
   */
  ack(first: number, count: number, settle: (entry: PendingSend) => void): void {
    let seq = first;
    for (let left = count; left > 0; left--, seq = (seq + 1) >>> 0) {
      const late = this.overdue.peek();
      if (late !== undefined) {
        if (late !== seq) throw outOfOrder('ack', seq, late);
        this.overdue.shift();
        continue;
      }
      const head = this.waiting.peek();
      if (head === undefined || head.seq !== seq) throw outOfOrder('ack', seq, head?.seq);
      if (head.reply !== 'hosts') throw new ProtocolError(`ack for send ${seq}, which waits for a report of users`);
      this.waiting.shift();
      settle(head);
    }
  }

  /**
   * Takes out the sends written before `overdueBefore` (oldest first), for
   * `expired` to reject; their seqs stay, for their late answers.
   */
  expire(overdueBefore: number, expired: (entry: PendingSend) => void): void {
    const waiting = this.waiting;
    for (let head = waiting.peek(); head !== undefined && head.sentAt < overdueBefore; head = waiting.peek()) {
      waiting.shift();
      this.overdue.push(head.seq);
      if (this.overdue.length > MAX_OVERDUE) this.overdue.shift();
      expired(head);
    }
  }

  /** The link dropped: returns the sends still waiting, in order; late answers are no longer expected. */
  drain(): PendingSend[] {
    this.overdue.drain();
    return this.waiting.drain();
  }
}

/** Most seqs of timed-out sends kept for their late answers on one connection. */
export const MAX_OVERDUE = 1 << 20;

function outOfOrder(what: string, seq: number, expected: number | undefined): ProtocolError {
  const wanted = expected === undefined ? 'no send is waiting for an answer' : `the next answer is for send ${expected}`;
  return new ProtocolError(`${what} for send ${seq} out of order: ${wanted}`);
}
