import { InvalidArgumentError } from '../errors.js';
import { writeUtf8 } from '../codec/text.js';
import { MAX_ID_BYTES } from './constants.js';
import { userIdToString, type UserId } from './user-id.js';

// Every unsigned 64-bit id, the usual bigint id, has at most 20 digits.
const U64_LIMIT = 1n << 64n;
// A safe integer has at most 16 digits and a sign.
const NUMBER_ID_CHARS = 17;
/**
 * Taken from `String.prototype` once and called with `.call`, rather than
 * looked up at every `id.charCodeAt(i)`. The lookup is free while the
 * prototype keeps its fast layout, but a `class X extends String` loaded into
 * the process (ioredis 6 defines one and never makes an instance) leaves the
 * prototype in its slow dictionary layout for good, and each lookup then
 * takes the generic path: the ROUTE encoder ran at 330 ns per user id in a
 * process that had loaded ioredis, 94 ns this way. Without ioredis this way
 * costs 5-10% more than the plain call (`npm run bench:route`, with and
 * without `--with-ioredis`). It must be a constant of this module: an
 * imported one is not inlined.
 */
const charCodeAt = String.prototype.charCodeAt;

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
    throw new InvalidArgumentError(`a ${what} must be a non-empty string`);
  }
  const n = id.length;
  // Most ids are short ASCII: a byte loop beats a native call's fixed cost.
  const at = pos + 1;
  let i = 0;
  for (; i < n; i++) {
    const c = charCodeAt.call(id, i);
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

/**
 * `id` as a one-byte length and its UTF-8 bytes, for frames encoded from
 * parts (off the hot path). `allowEmpty` is for the one place an empty id
 * means something: the host of a REPORT's NOWHERE entry.
 *
 * @throws `ERR_INVALID_ARGUMENT` for an id that is not a string, is empty,
 *   or is longer than 255 UTF-8 bytes.
 */
export function id8(id: string, what: string, allowEmpty = false): Buffer {
  if (typeof id !== 'string') throw new InvalidArgumentError(`a ${what} must be a string, got ${id === null ? 'null' : typeof id}`);
  // More UTF-16 units than the byte limit is more bytes than the limit: no need to encode it.
  if (id.length > MAX_ID_BYTES) throw tooLong(what, Buffer.byteLength(id, 'utf8'));
  const n = Buffer.byteLength(id, 'utf8');
  if (n > MAX_ID_BYTES) throw tooLong(what, n);
  if (n === 0 && !allowEmpty) throw new InvalidArgumentError(`a ${what} must not be empty`);
  const out = Buffer.allocUnsafe(1 + n);
  out[0] = n;
  out.write(id, 1, 'utf8');
  return out;
}

function tooLong(what: string, bytes: number): InvalidArgumentError {
  return new InvalidArgumentError(`a ${what} is at most ${MAX_ID_BYTES} UTF-8 bytes, got ${bytes}`);
}
