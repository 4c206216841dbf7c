import { getU32LE } from '../codec/get-u32.js';
import { INCARNATION_BYTES } from '../protocol/constants.js';
import { serialAfter } from '../protocol/consumed.js';
import type { DeliverSpans } from '../protocol/deliver.js';
import { Fifo } from './fifo.js';

/**
 * Most (origin node, incarnation) pairs remembered. Each costs its key (the
 * origin id and 8 bytes, as a string), a record and a map entry: about 100
 * bytes for a short node id, 350 for a 255-byte one, so at most about 6.5 to
 * 23 MB. Every restart of a sending process is a new incarnation, so pairs
 * of processes long gone accumulate until pushed out, least recently heard
 * from first. Forgetting a pair that is still sending costs its repeats: a
 * send it wrote again after a reconnect would be handed to the application
 * a second time. That takes more than {@link KEPT_WHILE_SILENT} other pairs
 * heard from between two of its deliveries.
 */
export const MAX_ORIGINS = 65_536;

/**
 * A pair's place in the least-recently-heard order is refreshed at most once
 * per this many pairs heard from (a map delete and insert per delivery would
 * cost more than the rest of the check), so a pair is kept while fewer than
 * {@link KEPT_WHILE_SILENT} others are heard from between two of its deliveries.
 */
const REFRESH_EVERY = MAX_ORIGINS / 4;
export const KEPT_WHILE_SILENT = MAX_ORIGINS - REFRESH_EVERY - 1;

/** Pairs looked up by their bytes, with no string or map operation: a node hears from a few senders over and over. */
const SLOTS = 64;

/** One sending incarnation: the highest seq accepted from it (-1: none yet). */
interface Origin {
  seq: number;
  /** Its key in the map: the origin id's bytes and the incarnation, read as latin1. */
  readonly key: string;
  /** Its slot in the byte-keyed cache, or -1. */
  slot: number;
  /** The count of map insertions when it was last put at the recent end. */
  placedAt: number;
}

/**
 * Drops stamped deliveries a node already has: a sender writes again, after
 * a reconnect, what was not answered, and the relay may write again what its
 * node did not acknowledge. A stamp names the send by origin node id,
 * incarnation and seq; seqs from one incarnation arrive in order, so one
 * number per pair is enough: a seq not after the highest accepted is a
 * repeat.
 *
 * Pairs live in a map of at most {@link MAX_ORIGINS}, in front of which a
 * small cache keyed by the stamp's bytes finds the senders heard from lately
 * without making a string. Every pair in the cache is in the map.
 *
 * What a node accepted and then dropped unseen when its connection went
 * (see {@link rollback}) is forgotten again, so that the copy the relay or
 * the sender writes next is taken. A process that restarts forgets
 * everything: effectively-once holds per process.
 */
export class RepeatFilter {
  private readonly origins = new Map<string, Origin>();
  private readonly slotKeys: Array<Buffer | undefined> = new Array<Buffer | undefined>(SLOTS).fill(undefined);
  private readonly slotOrigins: Array<Origin | undefined> = new Array<Origin | undefined>(SLOTS).fill(undefined);
  /** Map insertions so far, refreshes included: the clock of {@link Origin.placedAt}. */
  private insertions = 0;
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
    const seq = getU32LE(p, keyEnd);
    const origin = this.find(p, keyStart, keyEnd);
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

  /** The pair whose key is `p[start, end)`, from the cache when it is there. */
  private find(p: Buffer, start: number, end: number): Origin {
    // The incarnation's last bytes are random: they pick the slot.
    const slot = (p[end - 1]! ^ (p[end - 2]! << 3) ^ (end - start)) & (SLOTS - 1);
    const key = this.slotKeys[slot];
    if (key !== undefined && sameBytes(key, p, start, end)) {
      const origin = this.slotOrigins[slot]!;
      if (this.insertions - origin.placedAt > REFRESH_EVERY) this.place(origin);
      return origin;
    }
    const origin = this.lookup(p, start, end);
    const previous = this.slotOrigins[slot];
    if (previous !== undefined) previous.slot = -1;
    this.slotKeys[slot] = Buffer.from(p.subarray(start, end));
    this.slotOrigins[slot] = origin;
    origin.slot = slot;
    return origin;
  }

  private lookup(p: Buffer, start: number, end: number): Origin {
    const key = p.toString('latin1', start, end);
    const map = this.origins;
    let origin = map.get(key);
    if (origin !== undefined) {
      this.place(origin);
      return origin;
    }
    if (map.size >= MAX_ORIGINS) this.evictOldest();
    origin = { seq: -1, key, slot: -1, placedAt: 0 };
    this.place(origin);
    return origin;
  }

  /** Puts `origin` at the recent end of the map (a Map iterates in insertion order). */
  private place(origin: Origin): void {
    this.origins.delete(origin.key);
    this.origins.set(origin.key, origin);
    origin.placedAt = ++this.insertions;
  }

  private evictOldest(): void {
    const [key, oldest] = this.origins.entries().next().value!;
    this.origins.delete(key);
    if (oldest.slot !== -1) this.clearSlot(oldest.slot);
  }

  private clearSlot(slot: number): void {
    this.slotKeys[slot] = undefined;
    this.slotOrigins[slot] = undefined;
  }
}

function sameBytes(key: Buffer, p: Buffer, start: number, end: number): boolean {
  if (key.length !== end - start) return false;
  for (let i = 0; i < key.length; i++) if (key[i] !== p[start + i]) return false;
  return true;
}
