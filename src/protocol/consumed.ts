import { ProtocolError } from '../errors.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameType } from './constants.js';

/** Bytes of a CONSUMED payload: type, taken, settled, window. */
export const CONSUMED_BYTES = 13;
/** Bytes of an EXPIRE payload: type, through. */
export const EXPIRE_BYTES = 5;

/**
 * A node's word on its deliveries (with `Features.ONCE`). Deliveries are
 * numbered on each connection from 1, in the order the relay wrote them.
 *
 * - `taken`: the application took every delivery through this number;
 * - `settled`: every delivery through this number is taken or, past `taken`,
 *   dropped unseen after an EXPIRE; never less than `taken`;
 * - `window`: the relay may write deliveries through `settled + window`.
 *
 * Numbers are u32 and wrap; they compare in serial-number arithmetic.
 */
export interface ConsumedFrame {
  taken: number;
  settled: number;
  window: number;
}

/** Appends a CONSUMED frame to `writer`. */
export function writeConsumed(writer: FrameWriter, frame: ConsumedFrame): void {
  const off = writer.reserve(CONSUMED_BYTES);
  const buf = writer.buf;
  buf[off] = FrameType.CONSUMED;
  buf.writeUInt32LE(frame.taken >>> 0, off + 1);
  buf.writeUInt32LE(frame.settled >>> 0, off + 5);
  buf.writeUInt32LE(frame.window >>> 0, off + 9);
}

/** Reads the CONSUMED at `[start, end)` of `p`. Throws `ERR_PROTOCOL` when malformed. */
export function decodeConsumed(p: Buffer, start = 0, end = p.length): ConsumedFrame {
  if (end - start !== CONSUMED_BYTES || p[start] !== FrameType.CONSUMED) throw new ProtocolError('consumed: frame must be 13 bytes');
  const taken = p.readUInt32LE(start + 1);
  const settled = p.readUInt32LE(start + 5);
  if ((settled - taken) >>> 0 > 0x7fff_ffff) throw new ProtocolError('consumed: settled is behind taken');
  return { taken, settled, window: p.readUInt32LE(start + 9) };
}

/**
 * Appends an EXPIRE: the relay gives up the deliveries through `through`
 * that the node's application has not taken; the node drops them unseen and
 * answers with CONSUMED.
 */
export function writeExpire(writer: FrameWriter, through: number): void {
  const off = writer.reserve(EXPIRE_BYTES);
  writer.buf[off] = FrameType.EXPIRE;
  writer.buf.writeUInt32LE(through >>> 0, off + 1);
}

/** Reads the EXPIRE at `[start, end)` of `p`. Throws `ERR_PROTOCOL` when malformed. */
export function decodeExpire(p: Buffer, start = 0, end = p.length): number {
  if (end - start !== EXPIRE_BYTES || p[start] !== FrameType.EXPIRE) throw new ProtocolError('expire: frame must be 5 bytes');
  return p.readUInt32LE(start + 1);
}

/** True when serial number `a` comes after `b` (mod 2^32). */
export function serialAfter(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x8000_0000;
}
