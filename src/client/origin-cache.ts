import { utf8Text } from '../codec/text.js';

const SLOTS = 64;

/**
 * The node ids deliveries come from, by their bytes. A node hears from the
 * same few senders over and over: a hit costs a comparison of a few bytes
 * instead of a new string per delivery.
 */
export class OriginCache {
  private readonly keys: Array<Buffer | undefined> = new Array<Buffer | undefined>(SLOTS).fill(undefined);
  private readonly values: string[] = new Array<string>(SLOTS).fill('');

  /** The node id whose UTF-8 bytes are `p[start, end)`. */
  get(p: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    const slot = (n * 31 + p[start]! * 7 + p[end - 1]! + p[start + (n >> 1)]! * 3) & (SLOTS - 1);
    const key = this.keys[slot];
    if (key !== undefined && key.length === n) {
      let i = 0;
      while (i < n && key[i] === p[start + i]) i++;
      if (i === n) return this.values[slot]!;
    }
    const value = utf8Text(p, start, end);
    const copy = Buffer.allocUnsafe(n);
    p.copy(copy, 0, start, end);
    this.keys[slot] = copy;
    this.values[slot] = value;
    return value;
  }
}
