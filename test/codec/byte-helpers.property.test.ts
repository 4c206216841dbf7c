import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBytes, copyRun, viewOf } from '../../src/codec/copy-bytes.js';
import { getU32LE } from '../../src/codec/get-u32.js';
import { putU32LE } from '../../src/codec/put-u32.js';

describe('copyBytes', () => {
  it('writes exactly what Buffer#copy writes, for short runs (a loop) and long ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(), fc.nat(), (bytes, a, b, c) => {
        const src = Buffer.from(bytes);
        const start = a % src.length;
        const end = start + (b % (src.length - start + 1));
        const dst = Buffer.alloc(300, 0xee);
        const at = c % (dst.length - (end - start) + 1);
        const expected = Buffer.alloc(300, 0xee);
        src.copy(expected, at, start, end);
        copyBytes(dst, at, src, start, end);
        expect(dst.equals(expected)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('copyRun', () => {
  it('writes exactly what Buffer#copy writes, by words through views of buffers that start inside larger ones, or without a source view', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.nat({ max: 7 }),
        fc.nat({ max: 7 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (bytes, srcShift, dstShift, a, b, c, withView) => {
          // Both sides sit at an offset of their ArrayBuffer, as pooled Buffers and socket chunks do.
          const src = Buffer.concat([Buffer.alloc(srcShift, 0xaa), Buffer.from(bytes), Buffer.alloc(3, 0xbb)]).subarray(
            srcShift,
            srcShift + bytes.length,
          );
          const start = a % src.length;
          const end = start + (b % (src.length - start + 1));
          const dst = Buffer.alloc(500 + dstShift, 0xee).subarray(dstShift, dstShift + 500);
          const at = c % (dst.length - (end - start) + 1);
          const expected = Buffer.alloc(500, 0xee);
          src.copy(expected, at, start, end);
          copyRun(dst, viewOf(dst), at, src, withView ? viewOf(src) : undefined, start, end);
          expect(dst.equals(expected)).toBe(true);
          // Nothing of the larger buffer around `dst` was touched.
          expect(Buffer.from(dst.buffer, dst.byteOffset - dstShift, dstShift).every((x) => x === 0xee)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('putU32LE', () => {
  it('writes what writeUInt32LE writes and nothing around it', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 12 }), (value, at) => {
        const dst = Buffer.alloc(16, 0xee);
        const expected = Buffer.alloc(16, 0xee);
        expected.writeUInt32LE(value, at);
        putU32LE(dst, at, value);
        expect(dst.equals(expected)).toBe(true);
      }),
    );
  });

  it('keeps the low 32 bits of a seq that has wrapped past 2^32 as a JavaScript number', () => {
    const dst = Buffer.alloc(4);
    putU32LE(dst, 0, 0x1_0000_0005);
    expect(dst.readUInt32LE(0)).toBe(5);
    putU32LE(dst, 0, -1);
    expect(dst.readUInt32LE(0)).toBe(0xffff_ffff);
  });
});

describe('getU32LE', () => {
  it('reads what readUInt32LE reads, at any offset of a buffer inside a larger one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 40 }), fc.nat(), (bytes, a) => {
        const buf = Buffer.concat([Buffer.of(1), Buffer.from(bytes)]).subarray(1);
        const at = a % (buf.length - 3);
        expect(getU32LE(buf, at)).toBe(buf.readUInt32LE(at));
      }),
    );
  });
});
