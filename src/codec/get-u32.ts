/**
 * Reads 4 little-endian bytes at `at` as an unsigned integer, with no checks:
 * for hot paths that have already bounded `at + 4` by the frame. Buffer's
 * readUInt32LE validates its offset through a wrapped helper on every call,
 * a cost paid several times per frame.
 */
export function getU32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}
