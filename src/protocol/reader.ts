import { ProtocolError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A bounds-checked cursor over one frame payload. Every read past the end, and
 * every string that is not valid UTF-8, raises `ERR_PROTOCOL`: a peer's bytes
 * are never trusted to be well formed.
 */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A string with a one-byte length. */
  str8(): string {
    return this.text(this.u8());
  }

  /**
   * A string with a one-byte length, decoded without validation (invalid
   * UTF-8 becomes U+FFFD): for ids the relay echoes back, on hot paths.
   */
  id8(): string {
    const n = this.u8();
    this.need(n);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A string with a two-byte length. */
  str16(): string {
    return this.text(this.u16());
  }

  /** Fails unless the whole payload was read. */
  end(what: string): void {
    if (this.pos !== this.buf.length) {
      throw new ProtocolError(`${what}: ${this.remaining} unexpected trailing bytes`);
    }
  }

  private text(n: number): string {
    const bytes = this.bytes(n);
    try {
      return utf8.decode(bytes);
    } catch (cause) {
      throw new ProtocolError('string is not valid UTF-8', { cause });
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new ProtocolError(`frame truncated: needed ${n} more bytes at offset ${this.pos}`);
    }
  }
}
