import { INCARNATION_BYTES } from '../protocol/constants.js';
import { serialAfter } from '../protocol/consumed.js';
import type { DeliverSpans } from '../protocol/deliver.js';
import { Fifo } from './fifo.js';

/**
 * Most (origin node, incarnation) pairs remembered. Each costs its key (the
 * origin id and 8 bytes, as a string), a record and a map entry: about 100
 * bytes for a short node id, 350 for a 255-byte one, so at most about 6.5 to
 * 23 MB. Every restart of a sending process is a new incarnation, so pairs
 * of processes long gone accumulate until pushed out, least recently used
 * first. Forgetting a pair that is still sending costs its repeats: a send
 * it wrote again after a reconnect would be handed to the application a
 * second time. That takes more than 65,536 other pairs heard from since.
 */
export const MAX_ORIGINS = 65_536;

/** One sending incarnation: the highest seq accepted from it (-1: none yet). */
interface Origin {
  seq: number;
}

/**
 * Drops stamped deliveries a node already has: a sender writes again, after
 * a reconnect, what was not answered, and the relay may write again what its
 * node did not acknowledge. A stamp names the send by origin node id,
 * incarnation and seq; seqs from one incarnation arrive in order, so one
 * number per pair is enough: a seq not after the highest accepted is a
 * repeat.
 *
 * What a node accepted and then dropped unseen when its connection went
 * (see {@link rollback}) is forgotten again, so that the copy the relay or
 * the sender writes next is taken. A process that restarts forgets
 * everything: effectively-once holds per process.
 */
export class RepeatFilter {
  private readonly origins = new Map<string, Origin>();
  /** The pair heard from last: a node hears from the same sender in runs, and those need no reordering. */
  private recent: Origin | undefined;
  /** The key bytes of {@link recent}: a run from one sender is matched by bytes, with no string per delivery. */
  private recentKey = Buffer.alloc(256 + INCARNATION_BYTES);
  private recentKeyLength = -1;
  // The journal of this connection's accepted deliveries not yet settled:
  // the delivery number, its pair, and the pair's seq before it.
  private readonly journalSerials = new Fifo<number>();
  private readonly journalOrigins = new Fifo<Origin>();
  private readonly journalPrevious = new Fifo<number>();
  /** Deliveries found to be repeats, since the client started. */
  dropped = 0;

  /** Pairs remembered. */
  get size(): number {
    return this.origins.size;
  }

  /**
   * True when the stamped DELIVER whose parts `spans` found in `p` is a
   * repeat. Otherwise records its seq as accepted and, when the connection
   * numbers deliveries (`serial` is not -1), journals it until settled.
   */
  isRepeat(p: Buffer, spans: DeliverSpans, serial: number): boolean {
    // The origin's bytes run straight into the incarnation: one key for both.
    // The incarnation's fixed length keeps two different pairs from sharing one.
    const keyStart = spans.originStart;
    const keyEnd = spans.stampStart + INCARNATION_BYTES;
    const seq = p.readUInt32LE(keyEnd);
    const origin = this.isRecent(p, keyStart, keyEnd) ? this.recent! : this.lookup(p, keyStart, keyEnd);
    if (origin.seq !== -1 && !serialAfter(seq, origin.seq)) {
      this.dropped++;
      return true;
    }
    if (serial !== -1) {
      this.journalSerials.push(serial);
      this.journalOrigins.push(origin);
      this.journalPrevious.push(origin.seq);
    }
    origin.seq = seq;
    return false;
  }

  /** Deliveries through `through` are settled (taken, or dropped after an EXPIRE): accepted for good. */
  settle(through: number): void {
    const serials = this.journalSerials;
    for (let s = serials.peek(); s !== undefined && !serialAfter(s, through); s = serials.peek()) {
      serials.shift();
      this.journalOrigins.shift();
      this.journalPrevious.shift();
    }
  }

  /**
   * The deliveries journaled and not settled were dropped unseen (the
   * connection went before the application took them): forget them, newest
   * first, so that their next copy is accepted.
   */
  rollback(): void {
    const origins = this.journalOrigins.drain();
    const previous = this.journalPrevious.drain();
    this.journalSerials.drain();
    for (let i = origins.length - 1; i >= 0; i--) origins[i]!.seq = previous[i]!;
  }

  private isRecent(p: Buffer, start: number, end: number): boolean {
    const length = end - start;
    if (length !== this.recentKeyLength) return false;
    const key = this.recentKey;
    for (let i = 0; i < length; i++) if (key[i] !== p[start + i]) return false;
    return true;
  }

  private lookup(p: Buffer, start: number, end: number): Origin {
    const key = p.toString('latin1', start, end);
    p.copy(this.recentKey, 0, start, end);
    this.recentKeyLength = end - start;
    const map = this.origins;
    let origin = map.get(key);
    if (origin === undefined) {
      if (map.size >= MAX_ORIGINS) map.delete(map.keys().next().value!);
      origin = { seq: -1 };
      map.set(key, origin);
    } else if (origin !== this.recent) {
      // A Map iterates in insertion order: re-inserting makes it the most recently used.
      map.delete(key);
      map.set(key, origin);
    }
    this.recent = origin;
    return origin;
  }
}
