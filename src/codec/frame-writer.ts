import { constants } from 'node:buffer';
import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_LENGTH } from './constants.js';
import { checkFrameLength } from './frame-length.js';
import { viewOf } from './copy-bytes.js';
import { putU32LE } from './put-u32.js';

/** Payloads at least this large are queued by reference instead of copied. */
export const DEFAULT_COPY_THRESHOLD = 8 * 1024;

const SLAB_BYTES = 64 * 1024;

/**
 * Coalesces many outbound frames into few large buffers, so that a burst of
 * small frames costs one allocation per slab and one socket write per flush
 * instead of one of each per frame.
 *
 * Frames are written in place: {@link reserve} returns the offset in
 * {@link buf} where exactly `size` payload bytes must be written. Large
 * payloads are appended by reference with {@link appendReference} so that a
 * 64 KiB payload fanned out to ten nodes is never copied.
 *
 * {@link take} hands out the buffered chunks for one socket write. Slab bytes
 * handed out are never written again: the socket may still hold them.
 */
export class FrameWriter {
  /** The current slab; valid to write at offsets returned by {@link reserve}. */
  buf: Buffer;
  /** A DataView of {@link buf}: short runs are copied into the slab by words through it. */
  view: DataView;
  private pos = 0;
  private start = 0;
  private parts: Buffer[] = [];
  private queued = 0;
  private frameCount = 0;

  /**
   * @param slabBytes - bytes of each slab: a burst of small frames shares one.
   *   A positive integer; anything else throws `ERR_INVALID_ARGUMENT`.
   */
  constructor(private readonly slabBytes = SLAB_BYTES) {
    if (!Number.isInteger(slabBytes) || slabBytes < 1 || slabBytes > constants.MAX_LENGTH) {
      throw new InvalidArgumentError(`slabBytes must be an integer from 1 to ${constants.MAX_LENGTH}, got ${String(slabBytes)}`);
    }
    this.buf = Buffer.allocUnsafe(slabBytes);
    this.view = viewOf(this.buf);
  }

  /** Bytes buffered and not yet taken. */
  get length(): number {
    return this.queued + (this.pos - this.start);
  }

  /** Inline payload bytes a frame opened now could hold without moving to a new slab. */
  get available(): number {
    return Math.max(0, this.buf.length - this.pos - FRAME_HEADER_BYTES);
  }

  /** Frames buffered and not yet taken. */
  get frames(): number {
    return this.frameCount;
  }

  /**
   * Opens a frame whose inline bytes are at most `maxInlineBytes`: returns the
   * offset in {@link buf} where the caller writes them. Nothing is committed
   * until {@link commit}, so a frame abandoned half-written costs nothing.
   */
  begin(maxInlineBytes: number): number {
    const needed = FRAME_HEADER_BYTES + maxInlineBytes;
    if (this.pos + needed > this.buf.length) this.nextSlab(needed);
    return this.pos + FRAME_HEADER_BYTES;
  }

  /**
   * Commits the frame opened by {@link begin}: its inline bytes end at offset
   * `inlineEnd` of {@link buf}, and its whole payload is `payloadBytes` long
   * (more than the inline part when the rest follows by {@link appendReference}).
   * Throws `ERR_FRAME_TOO_LARGE` (committing nothing) when `payloadBytes` is
   * more than a 4-byte length can say.
   */
  commit(inlineEnd: number, payloadBytes = inlineEnd - this.pos - FRAME_HEADER_BYTES): void {
    // Two comparisons on the hot path; the helper only runs to word the error.
    if (!(payloadBytes >= 0 && payloadBytes <= MAX_FRAME_LENGTH)) checkFrameLength(payloadBytes);
    putU32LE(this.buf, this.pos, payloadBytes);
    this.pos = inlineEnd;
    this.frameCount++;
  }

  /**
   * Starts a frame of exactly `payloadBytes`, of which the first `inlineBytes`
   * (default: all) are written in place at the returned offset of {@link buf};
   * the rest must follow through {@link appendReference}.
   */
  reserve(payloadBytes: number, inlineBytes = payloadBytes): number {
    const offset = this.begin(inlineBytes);
    this.commit(offset + inlineBytes, payloadBytes);
    return offset;
  }

  /** Appends one frame with `payload` copied in (for payloads built elsewhere). */
  appendFrame(payload: Uint8Array): void {
    if (!(payload instanceof Uint8Array)) throw notBytes(payload);
    const off = this.reserve(payload.length);
    this.buf.set(payload, off);
  }

  /** Appends bytes that belong to the frame reserved last, without copying them. */
  appendReference(bytes: Buffer): void {
    if (!Buffer.isBuffer(bytes)) throw notBytes(bytes);
    this.sealSlab();
    this.parts.push(bytes);
    this.queued += bytes.length;
  }

  /** Appends whole pre-encoded frames (length prefix included), copying small ones. */
  appendEncoded(frames: Buffer, frameCount = 1): void {
    if (!Buffer.isBuffer(frames)) throw notBytes(frames);
    if (frames.length >= DEFAULT_COPY_THRESHOLD) {
      this.sealSlab();
      this.parts.push(frames);
      this.queued += frames.length;
    } else {
      if (this.pos + frames.length > this.buf.length) this.nextSlab(frames.length);
      frames.copy(this.buf, this.pos);
      this.pos += frames.length;
    }
    this.frameCount += frameCount;
  }

  /** Returns the buffered chunks, in order, and empties the writer. */
  take(): Buffer[] {
    this.sealSlab();
    const parts = this.parts;
    this.parts = [];
    this.queued = 0;
    this.frameCount = 0;
    return parts;
  }

  private sealSlab(): void {
    if (this.pos > this.start) {
      const part = this.buf.subarray(this.start, this.pos);
      this.parts.push(part);
      this.queued += part.length;
      this.start = this.pos;
    }
  }

  private nextSlab(needed: number): void {
    // Refused with a code rather than by Node's RangeError from allocUnsafe.
    if (!(needed <= constants.MAX_LENGTH)) {
      throw new FrameTooLargeError(`a frame of ${needed} bytes is larger than a Buffer can be (${constants.MAX_LENGTH} bytes)`);
    }
    this.sealSlab();
    this.buf = Buffer.allocUnsafe(Math.max(this.slabBytes, needed));
    this.view = viewOf(this.buf);
    this.pos = 0;
    this.start = 0;
  }
}

function notBytes(value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`expected bytes (a Buffer), got ${value === null ? 'null' : typeof value}`);
}
