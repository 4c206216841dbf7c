import { FrameTooLargeError, InvalidArgumentError, ProtocolError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './constants.js';
import { getU32LE } from './get-u32.js';

/** Options for {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The largest payload accepted, in bytes. A length prefix above it raises
   * `ERR_FRAME_TOO_LARGE` as soon as the prefix is read, before any of the
   * payload is buffered. Default {@link DEFAULT_MAX_FRAME_BYTES} (1 MiB).
   * An integer from 0 to 2^32-1; anything else makes the constructor throw
   * `ERR_INVALID_ARGUMENT`.
   */
  maxFrameBytes?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * A streaming decoder for length-prefixed frames: a 4-byte unsigned
 * little-endian length, then that many payload bytes.
 *
 * Push socket chunks in with {@link push}; pull complete payloads out with
 * {@link next} until it returns `undefined`. Pulling is separate from pushing
 * so that a consumer that is full can stop pulling and pause its socket.
 *
 * A payload that lies inside one pushed chunk is returned as a view of that
 * chunk (no copy); one that spans chunks is copied once. Views stay valid as
 * long as the caller keeps them: the decoder never writes into pushed chunks.
 *
 * After {@link next} throws, the stream is out of sync and the decoder stays
 * failed: every later call throws the same error.
 */
export class FrameDecoder {
  /**
   * The largest payload accepted now. A peer may be held to a smaller limit
   * until it has proved who it is, and raised with {@link setMaxFrameBytes}.
   */
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private expected = -1;
  private failure: Error | undefined;
  /** Where the payload returned by the last {@link nextInPlace} starts in the returned buffer. */
  frameStart = 0;
  /** Where it ends. */
  frameEnd = 0;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
      throw new InvalidArgumentError(`maxFrameBytes must be an integer from 0 to 2^32-1, got ${String(max)}`);
    }
    this.maxFrameBytes = max;
  }

  /**
   * Changes the largest payload accepted from the next length prefix on.
   * Throws `ERR_INVALID_ARGUMENT` for a value that is not an integer from 0
   * to 2^32-1.
   */
  setMaxFrameBytes(max: number): void {
    if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
      throw new InvalidArgumentError(`maxFrameBytes must be an integer from 0 to 2^32-1, got ${String(max)}`);
    }
    this.maxFrameBytes = max;
  }

  /**
   * Bytes received and not yet returned as part of a frame, including the
   * header of a frame whose payload is still incomplete.
   */
  get bufferedBytes(): number {
    return this.expected < 0 ? this.buffered : this.buffered + FRAME_HEADER_BYTES;
  }

  /**
   * Appends a chunk read from the stream. Empty chunks are ignored, and so is
   * every chunk once the decoder has failed: the stream is out of sync.
   * Throws `ERR_INVALID_ARGUMENT` for a chunk that is not a `Uint8Array`.
   */
  push(chunk: Uint8Array): void {
    let buf: Buffer;
    if (Buffer.isBuffer(chunk)) buf = chunk;
    else if (chunk instanceof Uint8Array) buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    else throw new InvalidArgumentError(`a chunk must be a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`);
    if (buf.length === 0 || this.failure) return;
    this.chunks.push(buf);
    this.buffered += buf.length;
  }

  /**
   * Returns the next complete payload, or `undefined` when more bytes are
   * needed. Throws a `RelayError` (`ERR_FRAME_TOO_LARGE`) on an oversized length.
   */
  next(): Buffer | undefined {
    const buf = this.nextInPlace();
    if (buf === undefined) return undefined;
    return this.frameStart === 0 && this.frameEnd === buf.length ? buf : buf.subarray(this.frameStart, this.frameEnd);
  }

  /**
   * Like {@link next}, without making a view: returns the buffer that holds
   * the next payload, which lies at `[frameStart, frameEnd)` of it. A payload
   * inside one pushed chunk is returned as that chunk; one that spans chunks
   * is copied once into a buffer of its own. For hot loops that handle
   * millions of frames a second, where a view per frame is garbage.
   */
  nextInPlace(): Buffer | undefined {
    if (this.failure) throw this.failure;
    if (this.expected < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const length = this.readLength();
      if (length > this.maxFrameBytes) {
        this.failure = new FrameTooLargeError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes} bytes`);
        this.release();
        throw this.failure;
      }
      this.expected = length;
    }
    if (this.buffered < this.expected) return undefined;
    const holder = this.take(this.expected);
    this.expected = -1;
    return holder;
  }

  /** Drops everything buffered and any failure, as for a fresh stream. */
  reset(): void {
    this.release();
    this.failure = undefined;
  }

  /**
   * Fails the stream from outside, for a caller that found a payload it cannot
   * accept: later calls to {@link next} throw `err`.
   */
  fail(err: Error = new ProtocolError('stream rejected')): void {
    this.failure = err;
    this.release();
  }

  private release(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.expected = -1;
  }

  private readLength(): number {
    const first = this.chunks[this.head]!;
    let length: number;
    if (first.length - this.offset >= FRAME_HEADER_BYTES) {
      length = getU32LE(first, this.offset);
      this.skip(FRAME_HEADER_BYTES);
    } else {
      const header = this.take(FRAME_HEADER_BYTES);
      length = header.readUInt32LE(0);
    }
    return length;
  }

  private skip(n: number): void {
    this.offset += n;
    this.buffered -= n;
    this.dropConsumedHead();
  }

  /** Consumes `n` bytes; sets frameStart/frameEnd to where they lie in the returned buffer. */
  private take(n: number): Buffer {
    if (n === 0) {
      this.frameStart = this.frameEnd = 0;
      return EMPTY;
    }
    const first = this.chunks[this.head]!;
    const available = first.length - this.offset;
    if (available >= n) {
      this.frameStart = this.offset;
      this.frameEnd = this.offset + n;
      this.skip(n);
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(chunk.length - this.offset, n - written);
      chunk.copy(out, written, this.offset, this.offset + count);
      written += count;
      this.skip(count);
    }
    this.frameStart = 0;
    this.frameEnd = n;
    return out;
  }

  private dropConsumedHead(): void {
    const chunk = this.chunks[this.head];
    if (chunk === undefined || this.offset < chunk.length) return;
    this.head++;
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      // Compact now and then rather than shift() per chunk, which is O(n).
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
