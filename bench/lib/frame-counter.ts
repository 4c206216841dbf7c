import { FrameType } from '../../src/protocol/index.js';

/** Bytes of a length prefix and a type byte. */
const HEAD = 5;
/** Bytes of a whole ACK frame: prefix, type, first seq, count. */
const ACK_FRAME = 13;

/**
 * Counts length-prefixed frames in a byte stream without decoding them: it
 * reads each 4-byte length prefix and the type byte after it, and skips the
 * rest; of an ACK it reads the count too, since one ACK answers many sends.
 * Prefixes that straddle chunks are handled.
 */
export class FrameCounter {
  deliver = 0;
  /** Sends answered: one per REPORT, `count` per ACK. */
  report = 0;
  /** ACK frames seen (each also counted in {@link report} by the sends it answers). */
  acks = 0;
  other = 0;
  bytes = 0;
  private skip = 0;
  private readonly head = Buffer.alloc(ACK_FRAME);
  private headLen = 0;
  private need = HEAD;

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
      if (this.headLen === 0 && n - pos >= ACK_FRAME) {
        pos += this.frame(chunk, pos);
        continue;
      }
      this.head[this.headLen++] = chunk[pos++]!;
      if (this.headLen === HEAD && this.head[4] === FrameType.ACK) this.need = ACK_FRAME;
      if (this.headLen === this.need) {
        this.frame(this.head, 0);
        this.headLen = 0;
        this.need = HEAD;
      }
    }
  }

  /** Counts the frame whose prefix is at `pos` of `buf` (its head, or all of an ACK, is there); returns the bytes read. */
  private frame(buf: Buffer, pos: number): number {
    const length = buf.readUInt32LE(pos);
    const type = buf[pos + 4]!;
    if (type === FrameType.ACK) {
      this.acks++;
      this.report += buf.readUInt32LE(pos + 9);
      this.skip = length - (ACK_FRAME - 4);
      return ACK_FRAME;
    }
    if (type === FrameType.DELIVER) this.deliver++;
    else if (type === FrameType.REPORT) this.report++;
    else this.other++;
    // The type byte was the first of `length` payload bytes (frames are never empty here).
    this.skip = length - 1;
    return HEAD;
  }
}
