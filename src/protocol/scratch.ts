/**
 * A growable byte buffer reused across frames, for headers whose size is only
 * known once written.
 */
export class Scratch {
  buf: Buffer;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `n` more bytes after the first `used`, keeping those. */
  ensure(used: number, n: number): void {
    if (used + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, used + n));
    this.buf.copy(next, 0, 0, used);
    this.buf = next;
  }
}
