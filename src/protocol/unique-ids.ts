/**
 * Each user once per delivery: a list that names a user twice (an app's
 * `[42, '42']`) makes the receiving application write to that user's socket
 * twice. Lists are made unique where they are written, as they are written
 * ({@link WrittenIds}, for the ROUTE writer, where the check costs a few
 * percent of writing the ids), and where they are read off the hot path
 * ({@link dropRepeats}).
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';

/** Slots kept between lists; a longer list's table is dropped after it. */
const RETAINED_SLOTS = 8192;
/** Ids told apart only by a byte comparison, per list, before every byte is hashed. */
const MAX_MISSES = 64;
// Seeds the every-byte hash, so that no one can work out ids that collide in it.
const SEED = randomBytes(4).readInt32LE(0);

/**
 * Finds repeats among the ids of one list as a writer puts them into a
 * buffer (each a length byte and its UTF-8 bytes, as on the wire), by their
 * bytes: exactly what a receiver decodes as the same user.
 *
 * Nothing is allocated per list. An id is hashed, looked up in an
 * open-addressing table of the offsets of the ids kept so far, and compared
 * byte for byte only with ids whose hash agrees. The hash samples the length
 * and the last three bytes, where ids that share a prefix differ
 * (`user-1041`, `user-1042`), rather than every byte, which would cost as
 * much again as writing the id. Ids can be chosen to agree on those (user
 * names are), so a list in which that happens often switches to a seeded
 * hash of every byte: a list stays linear whatever its ids.
 */
export class WrittenIds {
  // Three numbers per slot, side by side: the stamp of the list that took
  // it, the id's hash and its offset. A slot is taken when its stamp is the
  // current list's, so starting a list is one increment, not a clear.
  private slots = new Int32Array(3 * 64);
  private shift = Math.clz32(63);
  private stamp = 0;
  private misses = 0;
  private everyByte = false;

  /** Starts a list of at most `count` ids. */
  reset(count: number): void {
    const size = this.slots.length / 3;
    if (2 * count > size || (size > RETAINED_SLOTS && 2 * count <= RETAINED_SLOTS)) this.resize(Math.max(64, 2 * count));
    this.nextStamp();
    this.misses = 0;
    this.everyByte = false;
  }

  /**
   * True when the id written at `start` of `buf` (its length byte) repeats
   * an id of this list kept before; otherwise records it as kept. The
   * caller writes the next id over a repeat, so kept ids are never moved.
   */
  repeats(buf: Buffer, start: number, end: number): boolean {
    if (this.everyByte) {
      const key = hashEveryByte(buf, start, buf[start]!);
      return this.find(buf, start, key, this.slotOf(key));
    }
    // The common case, kept small: a sampled hash and a probe that meets no equal hash.
    const key = hashSample(buf, start, end);
    const slots = this.slots;
    let at = this.slotOf(key);
    while (slots[at] === this.stamp) {
      if (slots[at + 1] === key) return this.find(buf, start, key, at);
      at += 3;
      if (at === slots.length) at = 0;
    }
    this.take(at, key, start);
    return false;
  }

  /** {@link repeats} from slot `at` on, comparing bytes where the hash agrees. */
  private find(buf: Buffer, start: number, key: number, at: number): boolean {
    const slots = this.slots;
    while (slots[at] === this.stamp) {
      if (slots[at + 1] === key) {
        if (sameId(buf, slots[at + 2]!, start, buf[start]!)) return true;
        if (!this.everyByte && ++this.misses > MAX_MISSES) {
          this.rehash(buf);
          return this.repeats(buf, start, start + 1 + buf[start]!);
        }
      }
      at += 3;
      if (at === slots.length) at = 0;
    }
    this.take(at, key, start);
    return false;
  }

  /** The first slot to probe for `key`: the top bits of a multiplicative hash, as many as the table needs. */
  private slotOf(key: number): number {
    return 3 * (Math.imul(key, 0x9e37_79b1) >>> this.shift);
  }

  private take(at: number, key: number, start: number): void {
    this.slots[at] = this.stamp;
    this.slots[at + 1] = key;
    this.slots[at + 2] = start;
  }

  /** Files the ids kept so far again under the every-byte hash. */
  private rehash(buf: Buffer): void {
    const kept: number[] = [];
    for (let at = 0; at < this.slots.length; at += 3) if (this.slots[at] === this.stamp) kept.push(this.slots[at + 2]!);
    this.nextStamp();
    this.everyByte = true;
    for (const start of kept) {
      const key = hashEveryByte(buf, start, buf[start]!);
      let at = this.slotOf(key);
      while (this.slots[at] === this.stamp) {
        at += 3;
        if (at === this.slots.length) at = 0;
      }
      this.take(at, key, start);
    }
  }

  private nextStamp(): void {
    if (++this.stamp === 0x7fff_ffff) {
      this.slots.fill(0);
      this.stamp = 1;
    }
  }

  private resize(slots: number): void {
    let size = 64;
    while (size < slots) size *= 2;
    this.slots = new Int32Array(3 * size);
    this.shift = Math.clz32(size - 1);
    this.stamp = 0;
  }
}

/**
 * The length and last three bytes of the id at `[start, end)` (its length
 * byte, then its bytes), where ids that share a prefix differ. The length
 * comes from the offsets, not a load; an id under 3 bytes is hashed from its
 * own bytes and length byte only, never its neighbour's.
 */
function hashSample(buf: Buffer, start: number, end: number): number {
  const n = end - start - 1;
  return n ^ (buf[end - 1]! << 8) ^ (buf[end - 2]! << 16) ^ (n > 2 ? buf[end - 3]! << 24 : 0);
}

/** Seeded FNV-1a over the length byte and every byte of the id at `start`. */
function hashEveryByte(buf: Buffer, start: number, n: number): number {
  let h = SEED;
  for (let i = start; i <= start + n; i++) h = Math.imul(h ^ buf[i]!, 0x0100_0193);
  return h;
}

/** True when the id at `a` has length `n` and the same bytes as the one at `b`. */
function sameId(buf: Buffer, a: number, b: number, n: number): boolean {
  if (buf[a] !== n) return false;
  for (let i = 1; i <= n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * Removes repeated ids from `ids` in place, keeping the first occurrence of
 * each, in order, and returns `ids`. Allocates only when there are more than
 * two ids; for readers off the hot path.
 */
export function dropRepeats(ids: string[]): string[] {
  const n = ids.length;
  if (n < 2 || (n === 2 && ids[0] !== ids[1])) return ids;
  const seen = new Set<string>();
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (seen.has(id)) continue;
    seen.add(id);
    ids[kept++] = id;
  }
  ids.length = kept;
  return ids;
}
