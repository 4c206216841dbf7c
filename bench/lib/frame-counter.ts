import { FrameType } from '../../src/protocol/index.js';

/**
 * Counts length-prefixed frames in a byte stream without decoding them: it
 * reads each 4-byte length prefix and the type byte after it, and skips the
 * rest. Prefixes that straddle chunks are handled.
 */
export class FrameCounter {
  deliver = 0;
  report = 0;
  other = 0;
  bytes = 0;
  private skip = 0;
  private readonly head = Buffer.alloc(5);
  private headLen = 0;

  get frames(): number {
    return this.deliver + this.report + this.other;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    this.bytes += n;
    let pos = 0;
    while (pos < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - pos);
        this.skip -= k;
        pos += k;
        continue;
      }
      if (this.headLen === 0 && n - pos >= 5) {
        this.frame(chunk.readUInt32LE(pos), chunk[pos + 4]!);
        pos += 5;
        continue;
      }
      this.head[this.headLen++] = chunk[pos++]!;
      if (this.headLen === 5) {
        this.headLen = 0;
        this.frame(this.head.readUInt32LE(0), this.head[4]!);
      }
    }
  }

  private frame(length: number, type: number): void {
    if (type === FrameType.DELIVER) this.deliver++;
    else if (type === FrameType.REPORT) this.report++;
    else this.other++;
    // The type byte was the first of `length` payload bytes (frames are never empty here).
    this.skip = length - 1;
  }
}
