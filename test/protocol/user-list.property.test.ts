import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUserList, readUserList } from '../../src/protocol/index.js';

/** A user list on the wire from raw id bytes: any bytes, valid UTF-8 or not. */
function listOf(ids: Uint8Array[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(ids.length);
  return Buffer.concat([count, ...ids.flatMap((id) => [Buffer.of(id.length), Buffer.from(id)])]);
}

/** What decoding each id on its own gives: the reference the whole-list decode must match. */
function oneByOne(ids: Uint8Array[]): string[] {
  return ids.map((id) => Buffer.from(id).toString('utf8'));
}

const byteId = fc.uint8Array({ minLength: 1, maxLength: 255 });
const textId = fc
  .string({ unit: fc.constantFrom('a', '9', 'é', '你', '😀', '\u0000', '\ufffd'), minLength: 1, maxLength: 60 })
  .map((s) => new Uint8Array(Buffer.from(s)))
  .filter((b) => b.length <= 255);

describe('user lists', () => {
  it('decode exactly as id-by-id UTF-8 decoding would, for any bytes, lengths and neighbours; readUserList drops repeats', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(byteId, textId, fc.constant(new Uint8Array([0xe2, 0x82])), fc.constant(new Uint8Array([0x80]))), {
          maxLength: 12,
        }),
        (ids) => {
          const list = listOf(ids);
          expect(decodeUserList(list, 0, list.length)).toEqual(oneByOne(ids));
          // Ids that decode alike are one user, whatever their bytes ([0x80] and [0xff] are both U+FFFD).
          expect(readUserList(list, 0)).toEqual([...new Set(oneByOne(ids))]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('ids of 128 to 255 bytes, whose length bytes are not ASCII, come back whole', () => {
    const ids = [
      new Uint8Array(Buffer.from('a'.repeat(200))),
      new Uint8Array(Buffer.from('b'.repeat(128))),
      new Uint8Array(Buffer.from('c')),
    ];
    const list = listOf(ids);
    expect(decodeUserList(list, 0, list.length)).toEqual(['a'.repeat(200), 'b'.repeat(128), 'c']);
  });

  it('readUserList stays inside the limit it is given, not the buffer', () => {
    const list = listOf([new Uint8Array(Buffer.from('abc'))]);
    const withMore = Buffer.concat([list, Buffer.from('trailing')]);
    expect(readUserList(withMore, 0, list.length)).toEqual(['abc']);
    expect(() => readUserList(withMore, 0, list.length - 1)).toThrow(/truncated/);
  });
});
