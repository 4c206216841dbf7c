/**
 * Matching a JSON object key to a field of a Go struct as Go's
 * `encoding/json` does: exactly, or else case-insensitively with Unicode
 * simple case folding (so `"ID"`, `"Users"` and `"uſers"` all name a field).
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '../errors.js';

/** U+017F LATIN SMALL LETTER LONG S, which folds with `s`. */
const LONG_S = 0x17f;
const LOWER_S = 0x73;

/** A field's name, lowercased, and its index in the list the matcher was made from. */
interface Candidate {
  readonly lower: string;
  readonly index: number;
}

/**
 * The JSON names of a struct's fields, made ready for matching keys.
 *
 * The names must be ASCII letters. Besides ASCII letters, the only
 * characters that fold to an ASCII letter are U+017F (long s, folds with
 * `s`) and U+212A (Kelvin sign, folds with `k`); no name here has a `k`,
 * which the constructor checks.
 */
export class GoFieldNames {
  /** By key length, the names of that length: a key is compared only with names as long as it. */
  private readonly byLength: ReadonlyArray<readonly Candidate[]>;

  /** `names` are the struct's JSON names; a key's field is reported as its index in `names`. */
  constructor(names: readonly string[]) {
    const byLength: Candidate[][] = [];
    names.forEach((name, index) => {
      if (!/^[a-jl-zA-JL-Z]+$/.test(name))
        throw new InvalidArgumentError(`field name ${JSON.stringify(name)} must be ASCII letters other than k`);
      while (byLength.length <= name.length) byLength.push([]);
      byLength[name.length]!.push({ lower: name.toLowerCase(), index });
    });
    this.byLength = byLength;
  }

  /**
   * The index of the field named by the key whose bytes are
   * `b[start..end)`, all ASCII, or -1 when it names none. This is the
   * common case, so it compares the bytes in place rather than making a
   * string of the key.
   */
  indexOfAsciiKey(b: Buffer, start: number, end: number): number {
    const candidates = this.byLength[end - start];
    if (candidates === undefined) return -1;
    for (let j = 0; j < candidates.length; j++) {
      const candidate = candidates[j]!;
      if (foldEquals(b, start, candidate.lower)) return candidate.index;
    }
    return -1;
  }

  /**
   * {@link indexOfAsciiKey} for a decoded key: one that had escapes or
   * non-ASCII characters. The key is folded to ASCII (a long s to `s`; any
   * other non-ASCII character matches no name), then matched as an ASCII
   * key is.
   */
  indexOfKey(key: string): number {
    const len = key.length;
    if (len >= this.byLength.length) return -1;
    const ascii = Buffer.allocUnsafe(len);
    for (let k = 0; k < len; k++) {
      const c = key.charCodeAt(k);
      if (c === LONG_S) ascii[k] = LOWER_S;
      else if (c < 0x80) ascii[k] = c;
      else return -1;
    }
    return this.indexOfAsciiKey(ascii, 0, len);
  }
}

/**
 * ASCII case-insensitive comparison of the bytes at `start` with `lower`,
 * which is all lowercase letters: setting bit 0x20 lowercases an ASCII
 * letter, and maps no other byte onto a letter.
 */
function foldEquals(b: Buffer, start: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    if ((b[start + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}
