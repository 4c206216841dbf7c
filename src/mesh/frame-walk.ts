import { FRAME_HEADER_BYTES } from '../codec/constants.js';

/**
 * Calls `fn` with each frame's payload in output chunks as a `FrameWriter`
 * hands them out (length prefixes included). A frame whose payload was
 * appended by reference spans chunks: only such a frame is copied into one
 * piece. A length prefix never spans chunks (it is reserved with the head).
 */
export function forEachFrame(parts: readonly Buffer[], fn: (buf: Buffer, start: number, end: number) => void): void {
  let k = 0;
  let pos = 0;
  while (k < parts.length) {
    const part = parts[k]!;
    if (pos >= part.length) {
      k++;
      pos = 0;
      continue;
    }
    const end = pos + FRAME_HEADER_BYTES + part.readUInt32LE(pos);
    if (end <= part.length) {
      fn(part, pos + FRAME_HEADER_BYTES, end);
      pos = end;
      continue;
    }
    const whole = Buffer.allocUnsafe(end - pos);
    let filled = part.copy(whole, 0, pos);
    while (filled < whole.length) {
      k++;
      const next = parts[k]!;
      const take = Math.min(next.length, whole.length - filled);
      next.copy(whole, filled, 0, take);
      filled += take;
      pos = take;
    }
    fn(whole, FRAME_HEADER_BYTES, whole.length);
  }
}
