import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from '../../src/codec/index.js';
import { ErrorCodes, FrameTooLargeError, ProtocolError, RelayError } from '../../src/errors.js';

// Chunks are built with Buffer.alloc, which never hands out memory from Node's
// shared pool, so `payload.buffer === chunk.buffer` really means "a view of
// this chunk" and not "another allocation from the same pool".

function unpooled(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  out.set(bytes);
  return out;
}

function header(length: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(length, 0);
  return out;
}

/** Encodes frames by hand, so these tests do not rely on the encoder. */
function stream(payloads: readonly Uint8Array[]): Buffer {
  return unpooled(Buffer.concat(payloads.flatMap((p) => [header(p.length), p])));
}

function patterned(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

function drain(decoder: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let payload = decoder.next(); payload !== undefined; payload = decoder.next()) {
    out.push(payload);
  }
  return out;
}

function decodeChunks(chunks: readonly Uint8Array[], options?: { maxFrameBytes?: number }): Buffer[] {
  const decoder = new FrameDecoder(options);
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    out.push(...drain(decoder));
  }
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

const hex = (bytes: readonly Uint8Array[]): string[] => bytes.map((b) => Buffer.from(b).toString('hex'));

// Varied sizes: tiny, empty, a 1000-byte frame larger than any chunk used
// below, a header-sized payload, and empties back to back.
const PAYLOADS = [
  patterned(1, 1),
  Buffer.alloc(0),
  patterned(300, 2),
  patterned(4, 3),
  patterned(1000, 4),
  Buffer.alloc(0),
  Buffer.alloc(0),
  patterned(17, 5),
  patterned(256, 6),
];
const STREAM = stream(PAYLOADS);

describe('FrameDecoder: chunking does not change the decoded frames', () => {
  it('decodes a whole stream pushed as one chunk', () => {
    expect(hex(decodeChunks([STREAM]))).toEqual(hex(PAYLOADS));
  });

  it('decodes a stream pushed one byte at a time', () => {
    const bytes = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    expect(hex(decodeChunks(bytes))).toEqual(hex(PAYLOADS));
  });

  it('decodes a stream split in two at every possible offset', () => {
    for (let at = 0; at <= STREAM.length; at++) {
      const decoded = decodeChunks([STREAM.subarray(0, at), STREAM.subarray(at)]);
      expect(hex(decoded), `split at ${at}`).toEqual(hex(PAYLOADS));
    }
  });

  it('decodes a stream cut into fixed-size chunks smaller than its largest frame', () => {
    for (let size = 1; size <= 64; size++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < STREAM.length; at += size) chunks.push(STREAM.subarray(at, at + size));
      expect(hex(decodeChunks(chunks)), `chunks of ${size}`).toEqual(hex(PAYLOADS));
    }
  });

  it('decodes many frames from one chunk, each a view at its own offset', () => {
    const payloads = Array.from({ length: 1000 }, (_, i) => patterned(i % 50, i));
    const chunk = stream(payloads);
    const decoder = new FrameDecoder();
    decoder.push(chunk);
    const decoded = drain(decoder);

    expect(hex(decoded)).toEqual(hex(payloads));
    let offset = 0;
    decoded.forEach((payload, i) => {
      offset += 4;
      if (payload.length > 0) {
        expect(payload.buffer, `frame ${i}`).toBe(chunk.buffer);
        expect(payload.byteOffset, `frame ${i}`).toBe(chunk.byteOffset + offset);
      }
      offset += payload.length;
    });
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('FrameDecoder: copies only frames that span chunks', () => {
  it('returns a payload inside one chunk as a view of that chunk', () => {
    const chunk = stream([patterned(10, 1), patterned(20, 2)]);
    const decoder = new FrameDecoder();
    decoder.push(chunk);

    const first = decoder.next()!;
    const second = decoder.next()!;
    expect(first.buffer).toBe(chunk.buffer);
    expect(first.byteOffset).toBe(chunk.byteOffset + 4);
    expect(first.length).toBe(10);
    expect(second.buffer).toBe(chunk.buffer);
    expect(second.byteOffset).toBe(chunk.byteOffset + 4 + 10 + 4);
    expect(second.length).toBe(20);
  });

  it('returns a view even when only the header spans chunks', () => {
    const bytes = stream([patterned(50, 1)]);
    const first = unpooled(bytes.subarray(0, 2));
    const second = unpooled(bytes.subarray(2));
    const decoder = new FrameDecoder();
    decoder.push(first);
    expect(decoder.next()).toBeUndefined();
    decoder.push(second);

    const payload = decoder.next()!;
    expect(payload.buffer).toBe(second.buffer);
    expect(payload.byteOffset).toBe(second.byteOffset + 2);
    expect(payload.toString('hex')).toBe(patterned(50, 1).toString('hex'));
  });

  it('copies a payload that spans chunks, so it survives the chunks being reused', () => {
    const expected = patterned(100, 9);
    const bytes = stream([expected]);
    const chunks = [unpooled(bytes.subarray(0, 30)), unpooled(bytes.subarray(30, 70)), unpooled(bytes.subarray(70))];
    const decoder = new FrameDecoder();
    const decoded: Buffer[] = [];
    for (const chunk of chunks) {
      decoder.push(chunk);
      decoded.push(...drain(decoder));
    }

    expect(decoded).toHaveLength(1);
    const payload = decoded[0]!;
    for (const chunk of chunks) expect(payload.buffer).not.toBe(chunk.buffer);
    for (const chunk of chunks) chunk.fill(0);
    expect(payload.toString('hex')).toBe(expected.toString('hex'));
  });

  it('returns an empty Buffer for a zero-length payload', () => {
    const decoder = new FrameDecoder();
    decoder.push(header(0));
    const payload = decoder.next();
    expect(Buffer.isBuffer(payload)).toBe(true);
    expect(payload!.length).toBe(0);
    expect(decoder.next()).toBeUndefined();
  });
});

describe('FrameDecoder: bufferedBytes', () => {
  it('counts bytes received and not yet returned as part of a frame', () => {
    const decoder = new FrameDecoder();
    expect(decoder.bufferedBytes).toBe(0);

    const bytes = stream([patterned(10, 1), patterned(5, 2)]); // 14 + 9 bytes
    decoder.push(bytes.subarray(0, 3));
    expect(decoder.bufferedBytes).toBe(3);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(3);

    // The whole header and part of the payload: still one unfinished frame.
    decoder.push(bytes.subarray(3, 8));
    expect(decoder.bufferedBytes).toBe(8);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(8);

    decoder.push(Buffer.alloc(0));
    expect(decoder.bufferedBytes).toBe(8);

    // The rest of the first frame and 3 bytes of the second.
    decoder.push(bytes.subarray(8, 17));
    expect(decoder.bufferedBytes).toBe(17);
    expect(decoder.next()!.length).toBe(10);
    expect(decoder.bufferedBytes).toBe(3);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(3);

    decoder.push(bytes.subarray(17));
    expect(decoder.bufferedBytes).toBe(9);
    expect(decoder.next()!.length).toBe(5);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('is non-zero when the stream stops right after a complete header', () => {
    const decoder = new FrameDecoder();
    decoder.push(header(10));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(4);
  });
});

describe('FrameDecoder: oversized frames', () => {
  it('refuses an oversized length from the 4 header bytes alone', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    decoder.push(header(17));
    expect(decoder.bufferedBytes).toBe(4);

    let caught: unknown;
    try {
      decoder.next();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameTooLargeError);
    expect(caught).toBeInstanceOf(RelayError);
    expect((caught as RelayError).code).toBe('ERR_FRAME_TOO_LARGE');
    expect((caught as Error).message).toBe('frame of 17 bytes exceeds the limit of 16 bytes');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses an oversized length whose header arrives split across chunks', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 100 });
    const bytes = header(101);
    decoder.push(bytes.subarray(0, 1));
    expect(decoder.next()).toBeUndefined();
    decoder.push(bytes.subarray(1, 3));
    expect(decoder.next()).toBeUndefined();
    decoder.push(bytes.subarray(3));
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
  });

  it('decodes the frames before an oversized one, then refuses it', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 8 });
    decoder.push(Buffer.concat([stream([patterned(8, 1), Buffer.alloc(0)]), header(9)]));
    expect(decoder.next()!.length).toBe(8);
    expect(decoder.next()!.length).toBe(0);
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
  });

  it('accepts a payload of exactly maxFrameBytes', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    decoder.push(stream([patterned(16, 1)]));
    expect(decoder.next()!.toString('hex')).toBe(patterned(16, 1).toString('hex'));
  });

  it('applies the 1 MiB default limit', () => {
    expect(new FrameDecoder().maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(1024 * 1024);

    const atLimit = new FrameDecoder();
    atLimit.push(header(DEFAULT_MAX_FRAME_BYTES));
    expect(atLimit.next()).toBeUndefined();

    const overLimit = new FrameDecoder();
    overLimit.push(header(DEFAULT_MAX_FRAME_BYTES + 1));
    expect(() => overLimit.next()).toThrow(FrameTooLargeError);
  });

  it('stays failed: later calls throw the same error and later bytes are dropped', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 4 });
    decoder.push(header(5));
    let first: unknown;
    try {
      decoder.next();
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(FrameTooLargeError);

    decoder.push(stream([patterned(3, 1)]));
    expect(decoder.bufferedBytes).toBe(0);
    for (let i = 0; i < 3; i++) {
      let again: unknown;
      try {
        decoder.next();
      } catch (err) {
        again = err;
      }
      expect(again).toBe(first);
    }
  });
});

describe('FrameDecoder: fail() and reset()', () => {
  it('fail() makes next() throw a ProtocolError, or the error given', () => {
    const decoder = new FrameDecoder();
    decoder.push(stream([patterned(3, 1)]));
    decoder.fail();
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.next()).toThrow(ProtocolError);
    expect(() => decoder.next()).toThrow('stream rejected');

    const custom = new Error('not for us');
    const other = new FrameDecoder();
    other.push(header(10));
    expect(other.next()).toBeUndefined();
    other.fail(custom);
    expect(other.bufferedBytes).toBe(0);
    expect(() => other.next()).toThrow(custom);
  });

  it('reset() clears a failure so a fresh stream decodes', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 10 });
    decoder.push(header(11));
    expect(() => decoder.next()).toThrow(FrameTooLargeError);

    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.next()).toBeUndefined();
    decoder.push(stream([patterned(10, 2)]));
    expect(decoder.next()!.toString('hex')).toBe(patterned(10, 2).toString('hex'));
  });

  it('reset() discards a partly received frame', () => {
    const decoder = new FrameDecoder();
    decoder.push(stream([patterned(10, 1)]).subarray(0, 9));
    expect(decoder.next()).toBeUndefined();

    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(stream([patterned(2, 3)]));
    expect(hex(drain(decoder))).toEqual(hex([patterned(2, 3)]));
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('FrameDecoder: maxFrameBytes validation', () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32, '10' as unknown as number])(
    'rejects %s with ERR_INVALID_ARGUMENT',
    (value) => {
      expect(() => new FrameDecoder({ maxFrameBytes: value })).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, name: 'InvalidArgumentError' }),
      );
      expect(() => new FrameDecoder({ maxFrameBytes: value })).toThrow(`maxFrameBytes must be an integer from 0 to 2^32-1, got ${value}`);
    },
  );

  it('push() refuses a chunk that is not bytes with ERR_INVALID_ARGUMENT, and the stream stays usable', () => {
    const decoder = new FrameDecoder();
    for (const chunk of [null, undefined, 'abc', 5, [1, 2]]) {
      expect(() => decoder.push(chunk as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    }
    decoder.push(Buffer.concat([header(1), Buffer.of(7)]));
    expect([...decoder.next()!]).toEqual([7]);
  });

  it('accepts 0, which allows only empty payloads', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 0 });
    decoder.push(Buffer.concat([header(0), header(0), header(1)]));
    expect(decoder.next()!.length).toBe(0);
    expect(decoder.next()!.length).toBe(0);
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
  });

  it('accepts 2^32-1, under which no length is too large', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 0xffff_ffff });
    expect(decoder.maxFrameBytes).toBe(0xffff_ffff);
    decoder.push(header(0xffff_ffff));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(4);
  });
});

describe('FrameDecoder: plain Uint8Array input', () => {
  it('decodes Uint8Array views and returns Buffers viewing the same memory', () => {
    const bytes = stream([patterned(6, 1), patterned(7, 2)]);
    const memory = new ArrayBuffer(bytes.length + 10);
    new Uint8Array(memory, 5, bytes.length).set(bytes);
    const chunk = new Uint8Array(memory, 5, bytes.length);
    expect(Buffer.isBuffer(chunk)).toBe(false);

    const decoder = new FrameDecoder();
    decoder.push(chunk);
    const first = decoder.next()!;
    const second = decoder.next()!;

    expect(Buffer.isBuffer(first)).toBe(true);
    expect(first.buffer).toBe(memory);
    expect(first.byteOffset).toBe(5 + 4);
    expect(first.toString('hex')).toBe(patterned(6, 1).toString('hex'));
    expect(second.buffer).toBe(memory);
    expect(second.byteOffset).toBe(5 + 4 + 6 + 4);
    expect(second.toString('hex')).toBe(patterned(7, 2).toString('hex'));
    expect(decoder.next()).toBeUndefined();
  });

  it('decodes a frame spanning several Uint8Array chunks', () => {
    const bytes = stream([patterned(40, 3)]);
    // new Uint8Array(view) copies into a fresh, non-Buffer array.
    const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 20), bytes.subarray(20)].map((b) => new Uint8Array(b));
    expect(hex(decodeChunks(chunks))).toEqual(hex([patterned(40, 3)]));
  });
});
