/**
 * A cursor over the bytes of a JSON document that reads its tokens as Go's
 * `encoding/json` accepts them, and skips the values a caller does not need.
 *
 * It knows nothing of the transmit document; `parse.ts` maps that onto it.
 *
 * @packageDocumentation
 */

import { failAt } from './json-error.js';
import { scanUint, skipNumber, startsNumber, uint32Value, uint64Text } from './json-number.js';
import { STR_ASCII, decodeString, scanString, type StringCursor, type StringKind } from './json-string.js';

/**
 * The deepest nesting of objects and arrays accepted, counting the top-level
 * object as 1. This is the limit of Go's JSON scanner, so any document a Go
 * node accepts is accepted here. Skipping is iterative, so the bound protects
 * memory only, not the call stack.
 */
export const LEGACY_MAX_NESTING_DEPTH = 10_000;

// Kept local (not shared through an import): V8 folds a module's own
// constants into its optimized code, but loads imported ones on every use.
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;

const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c] as const;
const TRUE_BYTES = [0x74, 0x72, 0x75, 0x65] as const;
const FALSE_BYTES = [0x66, 0x61, 0x6c, 0x73, 0x65] as const;

/**
 * Reads one JSON document from a buffer. Each method starts at {@link pos}
 * and leaves it past what it read; on bytes Go would reject it throws a
 * `ProtocolError` naming the offset.
 */
export class JsonScanner implements StringCursor {
  /** The document. */
  readonly b: Buffer;
  /** Its length. */
  readonly n: number;
  /** The offset of the next byte to read. */
  pos = 0;
  /** The kind of the string last scanned, which picks its decoder. */
  strKind: StringKind = STR_ASCII;

  constructor(b: Buffer) {
    this.b = b;
    this.n = b.length;
  }

  /** Rejects the document at the current offset. */
  fail(what: string): never {
    failAt(this.pos, what);
  }

  /** Moves past JSON whitespace. */
  ws(): void {
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

  /** Moves past the literal whose bytes are `bytes`. */
  private literal(bytes: readonly number[]): void {
    const b = this.b;
    const p = this.pos;
    if (p + bytes.length > this.n) this.fail('truncated literal');
    for (let k = 0; k < bytes.length; k++) {
      if (b[p + k] !== bytes[k]) this.fail('invalid literal');
    }
    this.pos = p + bytes.length;
  }

  /** Consumes `null` and returns true if the value here starts with `n` (failing on any other `n...`). */
  isNull(): boolean {
    if (this.pos < this.n && this.b[this.pos] === LOWER_N) {
      this.literal(NULL_BYTES);
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- containers

  /**
   * At what must be a `{` (else fails with `what`): moves past it and the
   * whitespace after it. Returns whether the object has members; when it has
   * none, its `}` is consumed too.
   */
  enterObject(what: string): boolean {
    if (this.pos >= this.n || this.b[this.pos] !== LBRACE) this.fail(what);
    return this.open(RBRACE);
  }

  /** {@link enterObject} for an array. */
  enterArray(what: string): boolean {
    if (this.pos >= this.n || this.b[this.pos] !== LBRACKET) this.fail(what);
    return this.open(RBRACKET);
  }

  /**
   * After an object member: moves past `,` and whitespace and returns true
   * (another member follows), or past `}` and returns false. The messages
   * name the object for the error when neither is there.
   */
  moreInObject(unterminated: string, expected: string): boolean {
    return this.more(RBRACE, unterminated, expected);
  }

  /** {@link moreInObject} for an array. */
  moreInArray(unterminated: string, expected: string): boolean {
    return this.more(RBRACKET, unterminated, expected);
  }

  /** At what must be the opening quote of an object key, else fails with `what`. */
  expectKey(what: string): void {
    if (this.pos >= this.n || this.b[this.pos] !== QUOTE) this.fail(what);
  }

  /** After an object key: moves past the `:` and the whitespace around it. */
  colon(): void {
    // Go writes no whitespace between tokens, so look for the colon first.
    if (this.pos >= this.n || this.b[this.pos] !== COLON) {
      this.ws();
      if (this.pos >= this.n || this.b[this.pos] !== COLON) this.fail("expected ':'");
    }
    this.pos++;
    this.ws();
  }

  /** Past an opening `{` or `[`: see {@link enterObject}. */
  private open(close: number): boolean {
    this.pos++;
    this.ws();
    if (this.pos < this.n && this.b[this.pos] === close) {
      this.pos++;
      return false;
    }
    return true;
  }

  /** {@link moreInObject} for a container that ends with `close`. */
  private more(close: number, unterminated: string, expected: string): boolean {
    // Go writes no whitespace between tokens, so look for `,` or `close` first.
    let c = this.pos < this.n ? this.b[this.pos]! : -1;
    if (c !== COMMA && c !== close) {
      this.ws();
      if (this.pos >= this.n) this.fail(unterminated);
      c = this.b[this.pos]!;
    }
    if (c === COMMA) {
      this.pos++;
      this.ws();
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    this.fail(expected);
  }

  // ---------------------------------------------------------------- values

  /** At an opening quote: reads the whole string. */
  readString(): string {
    const start = this.pos + 1;
    const end = scanString(this);
    return decodeString(this.b, start, end, this.strKind);
  }

  /** Reads a value that must be a string. */
  readStringValue(): string {
    if (this.pos >= this.n) this.fail('expected a value');
    if (this.b[this.pos] !== QUOTE) this.fail('expected a string');
    return this.readString();
  }

  /** Reads a uint64 value, as a canonical decimal string. */
  readUint64(): string {
    const end = scanUint(this.b, this.pos, this.n);
    const value = uint64Text(this.b, this.pos, end);
    this.pos = end;
    return value;
  }

  /** Reads a uint32 value. */
  readUint32(): number {
    const end = scanUint(this.b, this.pos, this.n);
    const value = uint32Value(this.b, this.pos, end);
    this.pos = end;
    return value;
  }

  // ---------------------------------------------------------------- skipping

  /**
   * Checks the syntax of any JSON value and moves past it. `depth` is the
   * nesting depth of the container holding the value. The open containers
   * are kept on a stack rather than in recursive calls, so that a sender
   * cannot overflow the call stack with a deeply nested value.
   */
  skipValue(depth: number): void {
    // true for an object, false for an array.
    const stack: boolean[] = [];
    for (;;) {
      // At the start of a value.
      if (this.pos >= this.n) this.fail('expected a value');
      const c = this.b[this.pos]!;
      if (c === LBRACE || c === LBRACKET) {
        if (depth + stack.length + 1 > LEGACY_MAX_NESTING_DEPTH) this.fail('nesting too deep');
        const isObject = c === LBRACE;
        if (this.open(isObject ? RBRACE : RBRACKET)) {
          stack.push(isObject);
          if (isObject) this.skipKey();
          continue;
        }
      } else {
        this.skipScalar(c);
      }
      // After a complete value: close containers until one continues.
      for (;;) {
        const top = stack.length;
        if (top === 0) return;
        const isObject = stack[top - 1]!;
        const more = isObject
          ? this.moreInObject('unterminated container', "expected ',' or '}'")
          : this.moreInArray('unterminated container', "expected ',' or ']'");
        if (more) {
          if (isObject) this.skipKey();
          break;
        }
        stack.pop();
      }
    }
  }

  /** Moves past a string, number or literal that starts with byte `c`. */
  private skipScalar(c: number): void {
    if (c === QUOTE) scanString(this);
    else if (startsNumber(c)) this.pos = skipNumber(this.b, this.pos, this.n);
    else if (c === LOWER_N) this.literal(NULL_BYTES);
    else if (c === LOWER_T) this.literal(TRUE_BYTES);
    else if (c === LOWER_F) this.literal(FALSE_BYTES);
    else this.fail('unexpected character');
  }

  /** Inside an object: moves past `"key" :` and the whitespace after it. */
  private skipKey(): void {
    this.expectKey('expected a string key');
    scanString(this);
    this.colon();
  }
}
