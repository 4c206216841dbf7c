import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBytes } from '../../src/codec/copy-bytes.js';
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
