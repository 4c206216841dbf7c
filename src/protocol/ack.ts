import { ProtocolError } from '../errors.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameType } from './constants.js';
import { putU32LE } from '../codec/put-u32.js';

/** Bytes of an ACK payload: type, first seq, count. */
export const ACK_BYTES = 9;

/** Most sends one ACK may answer (the count is 32 bits). */
const MAX_RUN = 0xffff_ffff;

/**
 * The run of consecutive sends, from one node, that asked for a report and
 * were handed to every host they named. While the run grows nothing is
 * written; {@link seal} writes it as one ACK frame. Anything that must reach
 * the node after these answers (a REPORT, the flush) seals the run first, so
 * the node still reads every answer in send order.
 */
export class AckRun {
  private first = 0;
  private count = 0;

  /** Adds the send `seq`; a gap in the sequence seals the run so far into `writer`. */
  add(seq: number, writer: FrameWriter): void {
    if (this.count > 0 && seq === (this.first + this.count) >>> 0 && this.count < MAX_RUN) {
      this.count++;
      return;
    }
    this.seal(writer);
    this.first = seq;
    this.count = 1;
  }

  /** Writes the run, if any, as one ACK frame. */
  seal(writer: FrameWriter): void {
    if (this.count === 0) return;
    const off = writer.reserve(ACK_BYTES);
    const buf = writer.buf;
    buf[off] = FrameType.ACK;
    putU32LE(buf, off + 1, this.first);
    putU32LE(buf, off + 5, this.count);
    this.count = 0;
  }
}

/** An ACK as the node reads it: the sends `first` .. `first + count - 1` (mod 2^32). */
export interface AckFrame {
  first: number;
  count: number;
}

/** Reads the ACK at `[start, end)` of `p`. Throws `ERR_PROTOCOL` when malformed. */
export function decodeAck(p: Buffer, start = 0, end = p.length): AckFrame {
  if (end - start !== ACK_BYTES || p[start] !== FrameType.ACK) throw new ProtocolError('ack: frame must be 9 bytes');
  const count = p.readUInt32LE(start + 5);
  if (count === 0) throw new ProtocolError('ack: empty run');
  return { first: p.readUInt32LE(start + 1), count };
}

/** Encodes an ACK payload (for tests and tools). */
export function encodeAck(first: number, count: number): Buffer {
  const p = Buffer.allocUnsafe(ACK_BYTES);
  p[0] = FrameType.ACK;
  p.writeUInt32LE(first >>> 0, 1);
  p.writeUInt32LE(count >>> 0, 5);
  return p;
}
