import { constants } from 'node:buffer';
import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import { FRAME_HEADER_BYTES } from './constants.js';
import { checkFrameLength } from './frame-length.js';

/**
 * Encodes one frame: a 4-byte unsigned little-endian length, then the payload.
 * Returns a new Buffer; for many frames at once use a {@link FrameWriter}.
 *
 * @throws `ERR_FRAME_TOO_LARGE` when the payload is longer than a 4-byte
 *   length can say; `ERR_INVALID_ARGUMENT` when it is neither a string nor a
 *   `Uint8Array`.
 */
export function encodeFrame(payload: Uint8Array | string): Buffer {
  if (typeof payload === 'string') {
    const frame = allocFrame(Buffer.byteLength(payload));
    frame.write(payload, FRAME_HEADER_BYTES);
    return frame;
  }
  if (!(payload instanceof Uint8Array)) {
    throw new InvalidArgumentError(`a frame payload must be a string or a Uint8Array, got ${payload === null ? 'null' : typeof payload}`);
  }
  const frame = allocFrame(payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The 4-byte prefix for a payload of `length` bytes.
 *
 * @throws `ERR_FRAME_TOO_LARGE` above 2^32-1; `ERR_INVALID_ARGUMENT` for a
 *   length that is not a whole, non-negative number.
 */
export function encodeFrameHeader(length: number): Buffer {
  checkFrameLength(length);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(length, 0);
  return header;
}

/** A frame of `length` payload bytes with its prefix written; checked before allocating. */
function allocFrame(length: number): Buffer {
  checkFrameLength(length);
  // Node 20 caps a Buffer at 4 GiB, a few bytes short of the largest frame:
  // refused here with a code rather than by Node's own RangeError.
  if (FRAME_HEADER_BYTES + length > constants.MAX_LENGTH) {
    throw new FrameTooLargeError(`a frame of ${length} payload bytes is larger than a Buffer can be (${constants.MAX_LENGTH} bytes)`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32LE(length, 0);
  return frame;
}
