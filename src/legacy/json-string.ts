/**
 * JSON strings as Go's decoder reads them: their syntax checked byte by
 * byte, then their text with escapes unescaped and U+FFFD for a `\u` escape
 * of a lone surrogate and for each byte that is not part of valid UTF-8.
 *
 * @packageDocumentation
 */

import { failAt } from './json-error.js';

// Kept local (not shared through an import): V8 folds a module's own
// constants into its optimized code, but loads imported ones on every use,
// and these are compared against every byte of every string.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;

/** A string body of bytes 0x20..0x7f only, with no escapes: latin1 is its exact decoding. */
export const STR_ASCII = 0;
/** A string body of valid UTF-8 with some non-ASCII, and no escapes. */
export const STR_UTF8 = 1;
/** A string body with escapes or invalid UTF-8: it must be decoded byte by byte. */
export const STR_DECODE = 2;

/** One of the `STR_*` kinds, found while scanning a string, that picks its decoder. */
export type StringKind = typeof STR_ASCII | typeof STR_UTF8 | typeof STR_DECODE;

/** What {@link scanString} reads and moves: the scanner's cursor. */
export interface StringCursor {
  /** The document. */
  readonly b: Buffer;
  /** Its length. */
  readonly n: number;
  /** The offset of the next byte to read. */
  pos: number;
  /** The kind of the string last scanned. */
  strKind: StringKind;
}

/**
 * For each byte x below 0x80, the byte that the escape `\x` stands for, or 0
 * when `\x` is not one of JSON's two-character escapes.
 */
const SHORT_ESCAPES = new Uint8Array(0x80);
for (const [x, value] of [
  ['"', 0x22],
  ['\\', 0x5c],
  ['/', 0x2f],
  ['b', 0x08],
  ['f', 0x0c],
  ['n', 0x0a],
  ['r', 0x0d],
  ['t', 0x09],
] as const) {
  SHORT_ESCAPES[x.charCodeAt(0)] = value;
}

/** For each byte below 0x80, its value as a hex digit, or -1. */
const HEX_VALUES = new Int8Array(0x80).fill(-1);
for (const [digits, first] of [
  ['0123456789', 0],
  ['abcdef', 10],
  ['ABCDEF', 10],
] as const) {
  for (let k = 0; k < digits.length; k++) HEX_VALUES[digits.charCodeAt(k)] = first + k;
}

// Buffer's own slice decoders skip the argument checks of toString(), which
// matters for the many short strings of a document; fall back to toString()
// on a runtime that lacks them. They stay private to this module and are
// called only from functions here: V8 makes a fast call to a native method
// through `.call` only where it can see the method as a constant, which an
// exported or imported binding is not.
type Slicer = (this: Buffer, start: number, end: number) => string;
const bufferProto = Buffer.prototype as unknown as { latin1Slice?: unknown; utf8Slice?: unknown };
const latin1Slice: Slicer =
  typeof bufferProto.latin1Slice === 'function'
    ? (bufferProto.latin1Slice as Slicer)
    : function (this: Buffer, start: number, end: number): string {
        return this.toString('latin1', start, end);
      };
const utf8Slice: Slicer =
  typeof bufferProto.utf8Slice === 'function'
    ? (bufferProto.utf8Slice as Slicer)
    : function (this: Buffer, start: number, end: number): string {
        return this.toString('utf8', start, end);
      };

/** `b.toString('latin1', start, end)` without the argument checks, for bytes known to be ASCII. */
export function latin1Text(b: Buffer, start: number, end: number): string {
  return latin1Slice.call(b, start, end);
}

/**
 * At an opening quote: checks the string's syntax, moves past its closing
 * quote and returns the index of the closing quote. Sets `strKind`, so that
 * a plain string is later sliced rather than decoded byte by byte.
 */
export function scanString(s: StringCursor): number {
  const b = s.b;
  const n = s.n;
  let i = s.pos + 1;
  let kind: StringKind = STR_ASCII;
  for (;;) {
    if (i >= n) failAt(i, 'unterminated string');
    const c = b[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      kind = STR_DECODE;
      if (i + 1 >= n) failAt(i, 'unterminated string');
      const e = b[i + 1]!;
      if (e === LOWER_U) {
        if (i + 5 >= n || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!) || !isHex(b[i + 5]!)) {
          failAt(i, 'invalid \\u escape');
        }
        i += 6;
      } else if (e < 0x80 && SHORT_ESCAPES[e] !== 0) {
        i += 2;
      } else {
        failAt(i, 'invalid escape');
      }
      continue;
    }
    if (c < 0x20) failAt(i, 'control character in string');
    // Once the string needs decoding anyway, UTF-8 is checked while decoding.
    if (c < 0x80 || kind === STR_DECODE) {
      i++;
      continue;
    }
    const len = utf8SequenceLength(b, i, n);
    if (len === 0) {
      kind = STR_DECODE;
      i++;
    } else {
      kind = STR_UTF8;
      i += len;
    }
  }
  s.strKind = kind;
  s.pos = i + 1;
  return i;
}

/**
 * The string whose body is `b[start..end)` (between the quotes), of the
 * kind {@link scanString} found. The first two kinds are sliced directly;
 * only the third looks at each byte again.
 */
export function decodeString(b: Buffer, start: number, end: number, kind: StringKind): string {
  switch (kind) {
    case STR_ASCII:
      return latin1Slice.call(b, start, end);
    case STR_UTF8:
      return utf8Slice.call(b, start, end);
    default:
      return decodeEscaped(b, start, end);
  }
}

/** Decodes a string body with escapes or invalid UTF-8, as Go's decoder does. */
function decodeEscaped(b: Buffer, start: number, end: number): string {
  // Each input byte yields at most 3 output bytes (an invalid byte becomes
  // EF BF BD); escapes only shrink.
  const out = Buffer.allocUnsafe((end - start) * 3);
  let w = 0;
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c === BACKSLASH) {
      const e = b[i + 1]!;
      i += 2;
      if (e !== LOWER_U) {
        out[w++] = SHORT_ESCAPES[e]!;
        continue;
      }
      let r = hex4(b, i);
      i += 4;
      if (r >= 0xd800 && r <= 0xdfff) {
        // A high surrogate followed by a \u escape of a low surrogate is a
        // pair; any other surrogate is replaced, as Go does.
        if (r <= 0xdbff && i + 1 < end && b[i] === BACKSLASH && b[i + 1] === LOWER_U) {
          const r2 = hex4(b, i + 2);
          if (r2 >= 0xdc00 && r2 <= 0xdfff) {
            r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
            i += 6;
          } else {
            r = 0xfffd;
          }
        } else {
          r = 0xfffd;
        }
      }
      w = writeUtf8(out, w, r);
      continue;
    }
    if (c < 0x80) {
      out[w++] = c;
      i++;
      continue;
    }
    const len = utf8SequenceLength(b, i, end);
    if (len === 0) {
      out[w++] = 0xef;
      out[w++] = 0xbf;
      out[w++] = 0xbd;
      i++;
    } else {
      for (let k = 0; k < len; k++) out[w++] = b[i + k]!;
      i += len;
    }
  }
  return utf8Slice.call(out, 0, w);
}

function isHex(c: number): boolean {
  return c < 0x80 && HEX_VALUES[c]! >= 0;
}

/** The value of four hex digits at `i` (already checked). */
function hex4(b: Buffer, i: number): number {
  return (HEX_VALUES[b[i]!]! << 12) | (HEX_VALUES[b[i + 1]!]! << 8) | (HEX_VALUES[b[i + 2]!]! << 4) | HEX_VALUES[b[i + 3]!]!;
}

/**
 * The length of the valid UTF-8 sequence of a non-ASCII character starting at
 * `i` and ending before `end`, or 0 when it is not valid (an overlong form, a
 * surrogate, above U+10FFFF, truncated, or a stray byte). Go's
 * `utf8.DecodeRune` then consumes that one byte as U+FFFD.
 */
function utf8SequenceLength(b: Buffer, i: number, end: number): number {
  const c0 = b[i]!;
  if (c0 < 0xc2) return 0;
  if (c0 < 0xe0) {
    return i + 1 < end && (b[i + 1]! & 0xc0) === 0x80 ? 2 : 0;
  }
  if (c0 < 0xf0) {
    if (i + 2 >= end) return 0;
    const c1 = b[i + 1]!;
    if (c1 < (c0 === 0xe0 ? 0xa0 : 0x80) || c1 > (c0 === 0xed ? 0x9f : 0xbf)) return 0;
    return (b[i + 2]! & 0xc0) === 0x80 ? 3 : 0;
  }
  if (c0 < 0xf5) {
    if (i + 3 >= end) return 0;
    const c1 = b[i + 1]!;
    if (c1 < (c0 === 0xf0 ? 0x90 : 0x80) || c1 > (c0 === 0xf4 ? 0x8f : 0xbf)) return 0;
    return (b[i + 2]! & 0xc0) === 0x80 && (b[i + 3]! & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/** Writes code point `r` (not a surrogate) as UTF-8; returns the new offset. */
function writeUtf8(out: Buffer, w: number, r: number): number {
  if (r < 0x80) {
    out[w++] = r;
  } else if (r < 0x800) {
    out[w++] = 0xc0 | (r >> 6);
    out[w++] = 0x80 | (r & 0x3f);
  } else if (r < 0x10000) {
    out[w++] = 0xe0 | (r >> 12);
    out[w++] = 0x80 | ((r >> 6) & 0x3f);
    out[w++] = 0x80 | (r & 0x3f);
  } else {
    out[w++] = 0xf0 | (r >> 18);
    out[w++] = 0x80 | ((r >> 12) & 0x3f);
    out[w++] = 0x80 | ((r >> 6) & 0x3f);
    out[w++] = 0x80 | (r & 0x3f);
  }
  return w;
}
