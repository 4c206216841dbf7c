import { ErrorCodes, RelayError } from '../errors.js';
import { writeUtf8 } from '../codec/text.js';
import { MAX_ID_BYTES } from './constants.js';
import { userIdToString, type UserId } from './user-id.js';

// Every unsigned 64-bit id, the usual bigint id, has at most 20 digits.
const U64_LIMIT = 1n << 64n;
// A safe integer has at most 16 digits and a sign.
const NUMBER_ID_CHARS = 17;

/**
 * The most bytes {@link putId} can take for `id`, length byte included, so a
 * whole table can be sized before a byte is written. Throws
 * `ERR_INVALID_ARGUMENT` for ids that cannot be valid, before any room is
 * made for them.
 */
export function idBound(id: UserId, what: string): number {
  if (typeof id === 'string') {
    // More UTF-16 units than the byte limit is more bytes than the limit.
    if (id.length > MAX_ID_BYTES) throw tooLong(what, id.length);
    return 1 + 3 * id.length;
  }
  if (typeof id === 'number') return 1 + NUMBER_ID_CHARS;
  if (typeof id === 'bigint' && id >= 0n && id < U64_LIMIT) return 21;
  return 1 + 3 * userIdToString(id).length;
}

/**
 * Writes `id` at `pos` of `buf` as a one-byte length and its UTF-8 bytes;
 * returns the end. `buf` must have room for {@link idBound} bytes. Throws
 * `ERR_INVALID_ARGUMENT` for an empty or over-long id (the bytes written
 * before the throw are garbage the caller does not commit).
 */
export function putId(buf: Buffer, pos: number, id: string, what: string): number {
  if (typeof id !== 'string' || id.length === 0) {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, `a ${what} must be a non-empty string`);
  }
  const n = id.length;
  // Most ids are short ASCII: a byte loop beats a native call's fixed cost.
  const at = pos + 1;
  let i = 0;
  for (; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) break;
    buf[at + i] = c;
  }
  if (i === n && n <= MAX_ID_BYTES) {
    buf[pos] = n;
    return at + n;
  }
  const bytes = writeUtf8(buf, id, at);
  if (bytes > MAX_ID_BYTES) throw tooLong(what, bytes);
  buf[pos] = bytes;
  return at + bytes;
}

function tooLong(what: string, bytes: number): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, `a ${what} is at most ${MAX_ID_BYTES} UTF-8 bytes, got ${bytes}`);
}
