import { describe, expect, it } from 'vitest';
import { FrameDecoder, MAX_FRAME_LENGTH, encodeFrame, encodeFrameHeader } from '../../src/codec/index.js';
import { ErrorCodes, FrameTooLargeError, RelayError } from '../../src/errors.js';

/** The code of the RelayError `fn` throws (and that it throws one). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return (err as RelayError).code;
  }
  throw new Error('expected a throw');
}

const bytes = (...values: number[]): string => Buffer.from(values).toString('hex');

describe('encodeFrame', () => {
  it('prefixes a Buffer payload with its little-endian length', () => {
    const frame = encodeFrame(Buffer.from([0xaa, 0xbb, 0xcc]));
    expect(Buffer.isBuffer(frame)).toBe(true);
    expect(frame.toString('hex')).toBe(bytes(3, 0, 0, 0, 0xaa, 0xbb, 0xcc));
  });

  it('encodes a plain Uint8Array, including a view with an offset', () => {
    expect(encodeFrame(new Uint8Array([1, 2])).toString('hex')).toBe(bytes(2, 0, 0, 0, 1, 2));

    const view = new Uint8Array([9, 9, 7, 8, 9]).subarray(2, 4);
    expect(encodeFrame(view).toString('hex')).toBe(bytes(2, 0, 0, 0, 7, 8));
  });

  it('encodes a string as UTF-8 and counts bytes, not characters', () => {
    expect(encodeFrame('hi').toString('hex')).toBe(bytes(2, 0, 0, 0, 0x68, 0x69));
    // é is 2 bytes, € is 3, 😀 is 4: 3 characters (4 UTF-16 units), 9 bytes.
    const frame = encodeFrame('é€😀');
    expect(frame.toString('hex')).toBe('09000000' + Buffer.from('é€😀', 'utf8').toString('hex'));
    expect(frame.length).toBe(4 + 9);
  });

  it('encodes an empty payload as a bare zero header', () => {
    expect(encodeFrame(Buffer.alloc(0)).toString('hex')).toBe('00000000');
    expect(encodeFrame(new Uint8Array(0)).toString('hex')).toBe('00000000');
    expect(encodeFrame('').toString('hex')).toBe('00000000');
  });

  it('writes lengths above 255 least significant byte first', () => {
    const frame = encodeFrame(Buffer.alloc(0x0102, 0x5a));
    expect(frame.subarray(0, 4).toString('hex')).toBe(bytes(0x02, 0x01, 0, 0));
    expect(frame.length).toBe(4 + 0x0102);
    expect(frame.subarray(4).every((b) => b === 0x5a)).toBe(true);
  });

  it('returns a copy: changing the payload afterwards does not change the frame', () => {
    const payload = Buffer.from([1, 2, 3]);
    const frame = encodeFrame(payload);
    payload.fill(0);
    expect(frame.toString('hex')).toBe(bytes(3, 0, 0, 0, 1, 2, 3));
  });

  it('produces frames that FrameDecoder decodes back exactly', () => {
    const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(5000, 0x33), Buffer.from('é€😀')];
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([encodeFrame(payloads[0]!), encodeFrame(payloads[1]!), encodeFrame(payloads[2]!)]));
    decoder.push(encodeFrame('é€😀'));
    const decoded: string[] = [];
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) decoded.push(p.toString('hex'));
    expect(decoded).toEqual(payloads.map((p) => p.toString('hex')));
  });
});

describe('encodeFrameHeader', () => {
  it('returns the 4-byte little-endian prefix for a length', () => {
    expect(encodeFrameHeader(0).toString('hex')).toBe('00000000');
    expect(encodeFrameHeader(1).toString('hex')).toBe('01000000');
    expect(encodeFrameHeader(0x1234_5678).toString('hex')).toBe('78563412');
    expect(encodeFrameHeader(MAX_FRAME_LENGTH).toString('hex')).toBe('ffffffff');
  });

  it('matches the prefix encodeFrame writes', () => {
    const payload = Buffer.alloc(70_000, 1);
    expect(encodeFrameHeader(payload.length).toString('hex')).toBe(encodeFrame(payload).subarray(0, 4).toString('hex'));
  });

  it('refuses a length that does not fit in 4 bytes with ERR_FRAME_TOO_LARGE', () => {
    expect(MAX_FRAME_LENGTH).toBe(0xffff_ffff);
    expect(() => encodeFrameHeader(MAX_FRAME_LENGTH + 1)).toThrow(FrameTooLargeError);
    expect(() => encodeFrameHeader(MAX_FRAME_LENGTH + 1)).toThrow(
      `payload of ${MAX_FRAME_LENGTH + 1} bytes cannot be framed (maximum ${MAX_FRAME_LENGTH})`,
    );
    expect(codeOf(() => encodeFrameHeader(Number.POSITIVE_INFINITY))).toBe(ErrorCodes.FRAME_TOO_LARGE);
  });

  it.each([-1, 1.5, Number.NaN, '4' as unknown as number])('refuses %s, which is no length, with ERR_INVALID_ARGUMENT', (length) => {
    expect(codeOf(() => encodeFrameHeader(length))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });
});

describe('encodeFrame: what it refuses', () => {
  it.each([null, undefined, 42, {}, [1, 2]])('a payload that is neither a string nor bytes (%s): ERR_INVALID_ARGUMENT', (payload) => {
    expect(codeOf(() => encodeFrame(payload as unknown as Uint8Array))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it('a payload too long for a 4-byte length: ERR_FRAME_TOO_LARGE, before any allocation', () => {
    // A view that claims more bytes than a length prefix can say, without holding them.
    const huge = { length: MAX_FRAME_LENGTH + 1 };
    Object.setPrototypeOf(huge, Uint8Array.prototype);
    expect(codeOf(() => encodeFrame(huge as unknown as Uint8Array))).toBe(ErrorCodes.FRAME_TOO_LARGE);
  });
});
