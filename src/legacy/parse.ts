/**
 * A decoder for the legacy transmit hub's JSON document that accepts what Go's
 * `encoding/json.Unmarshal` accepts into the hub's struct, and keeps uint64
 * values exact (as decimal strings) where `JSON.parse` would round them.
 *
 * @packageDocumentation
 */

import { ErrorCodes, ProtocolError, RelayError } from '../errors.js';
import { UINT32_MAX, UINT64_MAX_DECIMAL, type TransmitMap, type TransmitMessage } from './transmit-map.js';

/**
 * The deepest nesting of objects and arrays accepted, counting the top-level
 * object as 1. This is the limit of Go's JSON scanner, so any document a Go
 * node accepts is accepted here. Skipping is iterative, so the bound protects
 * memory only, not the call stack.
 */
export const LEGACY_MAX_NESTING_DEPTH = 10_000;

// Field ids.
const F_UNKNOWN = 0;
const F_USERS = 1;
const F_ID = 2;
const F_FROM = 3;
const F_TO = 4;
const F_TYPE = 5;
const F_CONTENT_TYPE = 6;
const F_TIME = 7;
const F_CONTENT = 8;

// Byte values.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_U = 0x75;

// What the last scanned string needs to become a JS string.
const STR_ASCII = 0; // only bytes 0x20..0x7f, no escapes
const STR_UTF8 = 1; // valid UTF-8 with non-ASCII, no escapes
const STR_DECODE = 2; // escapes or invalid UTF-8: decode byte by byte

// Buffer's own slice decoders skip the argument checks of toString(); fall
// back to toString() on a runtime that lacks them.
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

const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c] as const;
const TRUE_BYTES = [0x74, 0x72, 0x75, 0x65] as const;
const FALSE_BYTES = [0x66, 0x61, 0x6c, 0x73, 0x65] as const;

/**
 * Decodes one legacy transmit document (the JSON payload of a frame, without
 * its 4-byte length prefix).
 *
 * Accepts what Go's `encoding/json.Unmarshal` accepts into the hub's struct:
 *
 * - the top level must be an object (Go would also take a bare `null` as an
 *   all-zero document; no sender writes one, so it is rejected here);
 * - known keys match exactly, or case-insensitively as Go matches them
 *   (`"ID"`, `"Users"`, `"CONTENTTYPE"`, `"uſers"` with a long s; after
 *   unescaping, so `"\u0069d"` is `id`); unknown keys are skipped whatever
 *   their (valid JSON) value;
 * - `users` is `null` or an object of host to `null` or an array of uint64;
 * - `from`, `to` and user ids are uint64, `type` and `contentType` uint32,
 *   written as plain non-negative integers (no sign, fraction or exponent);
 * - `null` for `id`, `from`, `to`, `type`, `contentType`, `time` or `content`
 *   changes nothing, so the field keeps its earlier value or its zero value;
 *   a `null` user id decodes as `"0"`, and `"host": null` as an empty list;
 * - a missing field takes its zero value (`""`, `"0"` or `0`);
 * - for a repeated key the last value wins, except that repeated `users`
 *   objects merge, host by host, as Go merges them into one map (a repeated
 *   host is replaced, `"users": null` empties the map);
 * - strings are fully unescaped; a `\u` escape of a lone surrogate, and each
 *   byte that is not part of valid UTF-8, become U+FFFD, as in Go.
 *
 * Runs in time linear in the input. On any input bytes it either returns or
 * throws a {@link RelayError} with code `ERR_PROTOCOL`.
 */
export function parseTransmitMap(payload: Uint8Array): TransmitMap {
  if (!(payload instanceof Uint8Array)) {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, 'legacy transmit payload must be a Uint8Array');
  }
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    return new Parser(buf).parse();
  } catch (err) {
    if (err instanceof RelayError) throw err;
    // Only reachable on resource exhaustion (a string longer than the engine
    // allows, an allocation failure): still report it as a bad payload.
    throw new ProtocolError('legacy transmit: payload could not be decoded', { cause: err });
  }
}

class Parser {
  private readonly b: Buffer;
  private readonly n: number;
  private pos = 0;
  /** Kind of the string last returned by {@link scanString}: a `STR_*` value. */
  private strKind = STR_ASCII;

  constructor(b: Buffer) {
    this.b = b;
    this.n = b.length;
  }

  parse(): TransmitMap {
    const msg: TransmitMessage = { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '' };
    let users = new Map<string, string[]>();
    const b = this.b;

    this.ws();
    if (this.pos >= this.n) this.fail('empty payload');
    if (b[this.pos] !== LBRACE) this.fail('top level must be an object');
    this.pos++;
    this.ws();
    if (this.pos < this.n && b[this.pos] === RBRACE) {
      this.pos++;
    } else {
      for (;;) {
        if (this.pos >= this.n || b[this.pos] !== QUOTE) this.fail('expected a string key');
        const field = this.readKey();
        this.ws();
        this.expect(COLON, "':'");
        this.ws();
        switch (field) {
          case F_USERS:
            users = this.parseUsers(users);
            break;
          case F_ID:
            msg.id = this.parseStringField(msg.id);
            break;
          case F_FROM:
            msg.from = this.parseUint64Field(msg.from);
            break;
          case F_TO:
            msg.to = this.parseUint64Field(msg.to);
            break;
          case F_TYPE:
            msg.type = this.parseUint32Field(msg.type);
            break;
          case F_CONTENT_TYPE:
            msg.contentType = this.parseUint32Field(msg.contentType);
            break;
          case F_TIME:
            msg.time = this.parseStringField(msg.time);
            break;
          case F_CONTENT:
            msg.content = this.parseStringField(msg.content);
            break;
          default:
            this.skipValue(1);
        }
        this.ws();
        if (this.pos >= this.n) this.fail('unterminated object');
        const c = b[this.pos];
        if (c === COMMA) {
          this.pos++;
          this.ws();
          continue;
        }
        if (c === RBRACE) {
          this.pos++;
          break;
        }
        this.fail("expected ',' or '}'");
      }
    }
    this.ws();
    if (this.pos !== this.n) this.fail('unexpected data after the document');
    return { users, message: msg };
  }

  // ---------------------------------------------------------------- helpers

  private fail(what: string): never {
    throw new ProtocolError(`legacy transmit: ${what} at offset ${this.pos}`);
  }

  private ws(): void {
    const b = this.b;
    const n = this.n;
    let i = this.pos;
    while (i < n) {
      const c = b[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  private expect(byte: number, what: string): void {
    if (this.pos >= this.n || this.b[this.pos] !== byte) this.fail(`expected ${what}`);
    this.pos++;
  }

  private literal(bytes: readonly number[]): void {
    const b = this.b;
    const p = this.pos;
    if (p + bytes.length > this.n) this.fail('truncated literal');
    for (let k = 0; k < bytes.length; k++) {
      if (b[p + k] !== bytes[k]) this.fail('invalid literal');
    }
    this.pos = p + bytes.length;
  }

  /** At a `n`: consumes `null` or fails. */
  private isNull(): boolean {
    if (this.pos < this.n && this.b[this.pos] === LOWER_N) {
      this.literal(NULL_BYTES);
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- strings

  /**
   * At an opening quote: checks the string's syntax, moves past its closing
   * quote and returns the index of the closing quote. Sets {@link strKind}.
   */
  private scanString(): number {
    const b = this.b;
    const n = this.n;
    let i = this.pos + 1;
    let kind = STR_ASCII;
    for (;;) {
      if (i >= n) {
        this.pos = i;
        this.fail('unterminated string');
      }
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        kind = STR_DECODE;
        if (i + 1 >= n) {
          this.pos = i;
          this.fail('unterminated string');
        }
        const e = b[i + 1]!;
        if (e === LOWER_U) {
          if (i + 5 >= n || !isHex(b[i + 2]!) || !isHex(b[i + 3]!) || !isHex(b[i + 4]!) || !isHex(b[i + 5]!)) {
            this.pos = i;
            this.fail('invalid \\u escape');
          }
          i += 6;
        } else if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === 0x2f || // /
          e === 0x62 || // b
          e === 0x66 || // f
          e === 0x6e || // n
          e === 0x72 || // r
          e === 0x74 // t
        ) {
          i += 2;
        } else {
          this.pos = i;
          this.fail('invalid escape');
        }
        continue;
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in string');
      }
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
    this.strKind = kind;
    this.pos = i + 1;
    return i;
  }

  /** At an opening quote: reads the whole string. */
  private readString(): string {
    const start = this.pos + 1;
    const end = this.scanString();
    return this.decode(start, end);
  }

  private decode(start: number, end: number): string {
    switch (this.strKind) {
      case STR_ASCII:
        return latin1Slice.call(this.b, start, end);
      case STR_UTF8:
        return utf8Slice.call(this.b, start, end);
      default:
        return this.decodeSlow(start, end);
    }
  }

  /** Decodes a string body whose syntax {@link scanString} has checked. */
  private decodeSlow(start: number, end: number): string {
    const b = this.b;
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
        switch (e) {
          case 0x62: // b
            out[w++] = 0x08;
            break;
          case 0x66: // f
            out[w++] = 0x0c;
            break;
          case 0x6e: // n
            out[w++] = 0x0a;
            break;
          case 0x72: // r
            out[w++] = 0x0d;
            break;
          case 0x74: // t
            out[w++] = 0x09;
            break;
          case LOWER_U: {
            let r = hex4(b, i);
            i += 4;
            if (r >= 0xd800 && r <= 0xdfff) {
              // A high surrogate followed by a \u escape of a low surrogate is
              // a pair; any other surrogate is replaced, as Go does.
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
            break;
          }
          default: // " \ /
            out[w++] = e;
        }
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

  /** At an opening quote: reads an object key and returns its field id. */
  private readKey(): number {
    const start = this.pos + 1;
    const end = this.scanString();
    if (this.strKind === STR_ASCII) return this.fieldOfAsciiKey(start, end);
    return fieldOfKey(this.decode(start, end));
  }

  private fieldOfAsciiKey(start: number, end: number): number {
    switch (end - start) {
      case 2:
        if (this.foldEquals(start, 'id')) return F_ID;
        if (this.foldEquals(start, 'to')) return F_TO;
        return F_UNKNOWN;
      case 4:
        if (this.foldEquals(start, 'from')) return F_FROM;
        if (this.foldEquals(start, 'type')) return F_TYPE;
        if (this.foldEquals(start, 'time')) return F_TIME;
        return F_UNKNOWN;
      case 5:
        return this.foldEquals(start, 'users') ? F_USERS : F_UNKNOWN;
      case 7:
        return this.foldEquals(start, 'content') ? F_CONTENT : F_UNKNOWN;
      case 11:
        return this.foldEquals(start, 'contenttype') ? F_CONTENT_TYPE : F_UNKNOWN;
      default:
        return F_UNKNOWN;
    }
  }

  /** ASCII case-insensitive comparison with `lower`, which is all lowercase letters. */
  private foldEquals(start: number, lower: string): boolean {
    const b = this.b;
    for (let k = 0; k < lower.length; k++) {
      if ((b[start + k]! | 0x20) !== lower.charCodeAt(k)) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- fields

  private parseStringField(current: string): string {
    if (this.pos >= this.n) this.fail('expected a value');
    const c = this.b[this.pos];
    if (c === QUOTE) return this.readString();
    if (c === LOWER_N) {
      this.literal(NULL_BYTES);
      return current;
    }
    this.fail('expected a string');
  }

  private parseUint64Field(current: string): string {
    return this.isNull() ? current : this.readUint64();
  }

  private parseUint32Field(current: number): number {
    return this.isNull() ? current : this.readUint32();
  }

  /**
   * Reads a `users` value. As in Go, an object adds its hosts to the hosts
   * read so far (a repeated `users` key merges, a repeated host is replaced)
   * and `null` empties the map.
   */
  private parseUsers(users: Map<string, string[]>): Map<string, string[]> {
    const b = this.b;
    if (this.isNull()) return new Map();
    if (this.pos >= this.n || b[this.pos] !== LBRACE) this.fail('users must be an object or null');
    this.pos++;
    this.ws();
    if (this.pos < this.n && b[this.pos] === RBRACE) {
      this.pos++;
      return users;
    }
    for (;;) {
      if (this.pos >= this.n || b[this.pos] !== QUOTE) this.fail('expected a host key');
      const host = this.readString();
      this.ws();
      this.expect(COLON, "':'");
      this.ws();
      users.set(host, this.parseIds());
      this.ws();
      if (this.pos >= this.n) this.fail('unterminated users object');
      const c = b[this.pos];
      if (c === COMMA) {
        this.pos++;
        this.ws();
        continue;
      }
      if (c === RBRACE) {
        this.pos++;
        return users;
      }
      this.fail("expected ',' or '}' in users");
    }
  }

  private parseIds(): string[] {
    const b = this.b;
    const ids: string[] = [];
    if (this.isNull()) return ids;
    if (this.pos >= this.n || b[this.pos] !== LBRACKET) this.fail('user ids must be an array or null');
    this.pos++;
    this.ws();
    if (this.pos < this.n && b[this.pos] === RBRACKET) {
      this.pos++;
      return ids;
    }
    for (;;) {
      ids.push(this.isNull() ? '0' : this.readUint64());
      this.ws();
      if (this.pos >= this.n) this.fail('unterminated user id array');
      const c = b[this.pos];
      if (c === COMMA) {
        this.pos++;
        this.ws();
        continue;
      }
      if (c === RBRACKET) {
        this.pos++;
        return ids;
      }
      this.fail("expected ',' or ']' in user ids");
    }
  }

  // ---------------------------------------------------------------- numbers

  /** Reads the digits of a non-negative integer with no leading zero; returns the end index. */
  private scanDigits(): number {
    const b = this.b;
    const n = this.n;
    const start = this.pos;
    if (start >= n) this.fail('expected a number');
    const c = b[start]!;
    if (c === MINUS) this.fail('expected a non-negative integer');
    if (c < DIGIT_0 || c > DIGIT_9) this.fail('expected a number');
    let i = start + 1;
    if (c !== DIGIT_0) {
      while (i < n && b[i]! >= DIGIT_0 && b[i]! <= DIGIT_9) i++;
    }
    if (i < n) {
      const d = b[i]!;
      if (d >= DIGIT_0 && d <= DIGIT_9) this.fail('number with a leading zero');
      if (d === DOT || d === LOWER_E || d === UPPER_E) this.fail('expected an integer');
    }
    return i;
  }

  private readUint64(): string {
    const start = this.pos;
    const end = this.scanDigits();
    const len = end - start;
    if (len <= 15) {
      // Exact as a double; number-to-string is much cheaper than slicing.
      const b = this.b;
      let v = 0;
      for (let i = start; i < end; i++) v = v * 10 + (b[i]! - DIGIT_0);
      this.pos = end;
      return '' + v;
    }
    if (len > 20) this.fail('number out of uint64 range');
    const s = latin1Slice.call(this.b, start, end);
    if (len === 20 && s > UINT64_MAX_DECIMAL) this.fail('number out of uint64 range');
    this.pos = end;
    return s;
  }

  private readUint32(): number {
    const b = this.b;
    const start = this.pos;
    const end = this.scanDigits();
    if (end - start > 10) this.fail('number out of uint32 range');
    let v = 0;
    for (let i = start; i < end; i++) v = v * 10 + (b[i]! - DIGIT_0);
    if (v > UINT32_MAX) this.fail('number out of uint32 range');
    this.pos = end;
    return v;
  }

  /** Checks the syntax of any JSON number and moves past it. */
  private skipNumber(): void {
    const b = this.b;
    const n = this.n;
    let i = this.pos;
    if (b[i] === MINUS) i++;
    if (i >= n) {
      this.pos = i;
      this.fail('truncated number');
    }
    const c = b[i]!;
    if (c === DIGIT_0) {
      i++;
    } else if (c > DIGIT_0 && c <= DIGIT_9) {
      while (i < n && isDigit(b[i]!)) i++;
    } else {
      this.pos = i;
      this.fail('invalid number');
    }
    if (i < n && b[i] === DOT) {
      i++;
      if (i >= n || !isDigit(b[i]!)) {
        this.pos = i;
        this.fail('invalid number');
      }
      while (i < n && isDigit(b[i]!)) i++;
    }
    if (i < n && (b[i] === LOWER_E || b[i] === UPPER_E)) {
      i++;
      if (i < n && (b[i] === 0x2b || b[i] === MINUS)) i++;
      if (i >= n || !isDigit(b[i]!)) {
        this.pos = i;
        this.fail('invalid number');
      }
      while (i < n && isDigit(b[i]!)) i++;
    }
    this.pos = i;
  }

  // ---------------------------------------------------------------- skipping

  /**
   * Checks the syntax of any JSON value and moves past it, without recursion.
   * `depth` is the nesting depth of the container holding the value.
   */
  private skipValue(depth: number): void {
    const b = this.b;
    // true for an object, false for an array.
    const stack: boolean[] = [];
    for (;;) {
      // At the start of a value.
      if (this.pos >= this.n) this.fail('expected a value');
      const c = b[this.pos]!;
      let closed = true;
      if (c === LBRACE || c === LBRACKET) {
        if (depth + stack.length + 1 > LEGACY_MAX_NESTING_DEPTH) this.fail('nesting too deep');
        this.pos++;
        this.ws();
        const isObject = c === LBRACE;
        if (this.pos < this.n && b[this.pos] === (isObject ? RBRACE : RBRACKET)) {
          this.pos++;
        } else {
          stack.push(isObject);
          if (isObject) this.skipKeyAndColon();
          closed = false;
        }
      } else if (c === QUOTE) {
        this.scanString();
      } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
        this.skipNumber();
      } else if (c === LOWER_N) {
        this.literal(NULL_BYTES);
      } else if (c === LOWER_T) {
        this.literal(TRUE_BYTES);
      } else if (c === LOWER_F) {
        this.literal(FALSE_BYTES);
      } else {
        this.fail('unexpected character');
      }
      if (!closed) continue;
      // After a complete value: close containers until one continues.
      for (;;) {
        const top = stack.length;
        if (top === 0) return;
        this.ws();
        if (this.pos >= this.n) this.fail('unterminated container');
        const d = b[this.pos];
        const isObject = stack[top - 1]!;
        if (d === COMMA) {
          this.pos++;
          this.ws();
          if (isObject) this.skipKeyAndColon();
          break;
        }
        if (d === (isObject ? RBRACE : RBRACKET)) {
          this.pos++;
          stack.pop();
          continue;
        }
        this.fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  }

  /** Inside an object: skips `"key" :` and the whitespace after it. */
  private skipKeyAndColon(): void {
    if (this.pos >= this.n || this.b[this.pos] !== QUOTE) this.fail('expected a string key');
    this.scanString();
    this.ws();
    this.expect(COLON, "':'");
    this.ws();
  }
}

/**
 * The field a decoded key names, matched as Go matches a JSON key to a struct
 * field: exactly, or else case-insensitively with Unicode simple case folding.
 * Besides ASCII letters, the only characters that fold to a letter of an
 * ASCII name are U+017F (long s, folds with `s`) and U+212A (Kelvin sign,
 * folds with `k`, which no field name has).
 */
function fieldOfKey(key: string): number {
  switch (key.length) {
    case 2:
      if (keyFoldEquals(key, 'ID')) return F_ID;
      if (keyFoldEquals(key, 'TO')) return F_TO;
      return F_UNKNOWN;
    case 4:
      if (keyFoldEquals(key, 'FROM')) return F_FROM;
      if (keyFoldEquals(key, 'TYPE')) return F_TYPE;
      if (keyFoldEquals(key, 'TIME')) return F_TIME;
      return F_UNKNOWN;
    case 5:
      return keyFoldEquals(key, 'USERS') ? F_USERS : F_UNKNOWN;
    case 7:
      return keyFoldEquals(key, 'CONTENT') ? F_CONTENT : F_UNKNOWN;
    case 11:
      return keyFoldEquals(key, 'CONTENTTYPE') ? F_CONTENT_TYPE : F_UNKNOWN;
    default:
      return F_UNKNOWN;
  }
}

function keyFoldEquals(key: string, upper: string): boolean {
  for (let k = 0; k < upper.length; k++) {
    let c = key.charCodeAt(k);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    else if (c === 0x17f) c = 0x53; // ſ folds with S
    if (c !== upper.charCodeAt(k)) return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

function isHex(c: number): boolean {
  return (c >= DIGIT_0 && c <= DIGIT_9) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function hexValue(c: number): number {
  return c <= DIGIT_9 ? c - DIGIT_0 : (c | 0x20) - 0x61 + 10;
}

/** The value of four hex digits at `i` (already checked). */
function hex4(b: Buffer, i: number): number {
  return (hexValue(b[i]!) << 12) | (hexValue(b[i + 1]!) << 8) | (hexValue(b[i + 2]!) << 4) | hexValue(b[i + 3]!);
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
