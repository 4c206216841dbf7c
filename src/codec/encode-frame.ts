import { FRAME_HEADER_BYTES, MAX_FRAME_LENGTH } from './constants.js';

/**
 * Encodes one frame: a 4-byte unsigned little-endian length, then the payload.
 * Returns a new Buffer; for many frames at once use a {@link FrameWriter}.
 */
export function encodeFrame(payload: Uint8Array | string): Buffer {
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    frame.writeUInt32LE(checkLength(length), 0);
    frame.write(payload, FRAME_HEADER_BYTES);
    return frame;
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(checkLength(payload.length), 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** The 4-byte prefix for a payload of `length` bytes. */
export function encodeFrameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32LE(checkLength(length), 0);
  return header;
}

function checkLength(length: number): number {
  if (length > MAX_FRAME_LENGTH) {
    throw new RangeError(`payload of ${length} bytes cannot be framed (maximum ${MAX_FRAME_LENGTH})`);
  }
  return length;
}
