/**
 * JSON numbers as the legacy hub's struct takes them: uint64 and uint32
 * fields are plain non-negative integers, and a uint64 stays exact (as a
 * decimal string) where a JS number would round it. Numbers in skipped
 * values only need their syntax checked.
 *
 * These work on a buffer and offsets rather than on the scanner: they
 * return where a number ends or what it is worth, and the scanner moves its
 * own cursor.
 *
 * @packageDocumentation
 */

import { failAt } from './json-error.js';
import { latin1Text } from './json-string.js';
import { UINT32_MAX, UINT64_MAX_DECIMAL } from './transmit-map.js';

// Kept local (not shared through an import): V8 folds a module's own
// constants into its optimized code, but loads imported ones on every use.
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const UPPER_E = 0x45;
const LOWER_E = 0x65;

/** Whether byte `c` can start a JSON number. */
export function startsNumber(c: number): boolean {
  return c === MINUS || isDigit(c);
}

/**
 * Checks that a non-negative integer with no leading zero, sign, fraction or
 * exponent starts at `start`, and returns its end. Go rejects the other
 * forms for an unsigned field rather than rounding or truncating them.
 */
export function scanUint(b: Buffer, start: number, n: number): number {
  if (start >= n) failAt(start, 'expected a number');
  const c = b[start]!;
  if (c === MINUS) failAt(start, 'expected a non-negative integer');
  if (!isDigit(c)) failAt(start, 'expected a number');
  const end = c === DIGIT_0 ? start + 1 : digitsEnd(b, start + 1, n);
  if (end < n) {
    const d = b[end]!;
    if (isDigit(d)) failAt(start, 'number with a leading zero');
    if (d === DOT || d === LOWER_E || d === UPPER_E) failAt(start, 'expected an integer');
  }
  return end;
}

/** The uint64 whose digits {@link scanUint} found at `b[start..end)`, as a canonical decimal string. */
export function uint64Text(b: Buffer, start: number, end: number): string {
  const len = end - start;
  // Up to 15 digits is exact as a double, and number-to-string is much
  // cheaper than slicing the bytes.
  if (len <= 15) return '' + digitsValue(b, start, end);
  if (len > 20) failAt(start, 'number out of uint64 range');
  const s = latin1Text(b, start, end);
  // Canonical digits of equal length compare as strings as they do as numbers.
  if (len === 20 && s > UINT64_MAX_DECIMAL) failAt(start, 'number out of uint64 range');
  return s;
}

/** The uint32 whose digits {@link scanUint} found at `b[start..end)`. */
export function uint32Value(b: Buffer, start: number, end: number): number {
  // The length check keeps the value exact before it is compared.
  if (end - start > 10) failAt(start, 'number out of uint32 range');
  const v = digitsValue(b, start, end);
  if (v > UINT32_MAX) failAt(start, 'number out of uint32 range');
  return v;
}

/**
 * Checks the syntax of any JSON number starting at `i` (sign, fraction and
 * exponent allowed) and returns its end. The value is not needed: this is
 * for values that are skipped.
 */
export function skipNumber(b: Buffer, i: number, n: number): number {
  if (b[i] === MINUS) i++;
  if (i >= n) failAt(i, 'truncated number');
  i = b[i] === DIGIT_0 ? i + 1 : requireDigits(b, i, n);
  if (i < n && b[i] === DOT) i = requireDigits(b, i + 1, n);
  if (i < n && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    i++;
    if (i < n && (b[i] === PLUS || b[i] === MINUS)) i++;
    i = requireDigits(b, i, n);
  }
  return i;
}

/** At least one digit at `i`: returns the end of the run. */
function requireDigits(b: Buffer, i: number, n: number): number {
  if (i >= n || !isDigit(b[i]!)) failAt(i, 'invalid number');
  return digitsEnd(b, i + 1, n);
}

/** The end of the run of digits from `i`. */
function digitsEnd(b: Buffer, i: number, n: number): number {
  while (i < n && isDigit(b[i]!)) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** The value of the digits `b[start..end)`; exact for up to 15 digits. */
function digitsValue(b: Buffer, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (b[i]! - DIGIT_0);
  return v;
}
