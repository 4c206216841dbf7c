/**
 * Writes `value` as 4 little-endian bytes at `at`, with no checks: for hot
 * paths whose offsets were reserved already. Buffer#writeUInt32LE validates
 * its offset through a wrapped helper on every call, a cost paid per frame.
 */
export function putU32LE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
  buf[at + 2] = value >>> 16;
  buf[at + 3] = value >>> 24;
}
