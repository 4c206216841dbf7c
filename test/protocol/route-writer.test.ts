import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameWriter } from '../../src/codec/index.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import {
  Scratch,
  decodeRoute,
  encodeRouteHeader,
  writeRoute,
  writeRouteFrame,
  type RouteTable,
  type UserId,
} from '../../src/protocol/index.js';

function bytesOf(writer: FrameWriter): Buffer {
  return Buffer.concat(writer.take());
}

function scratchPath(table: RouteTable, payload: string | Uint8Array, flags: number, seq: number): Buffer {
  const scratch = new Scratch(16);
  const writer = new FrameWriter();
  writeRouteFrame(writer, scratch, encodeRouteHeader(scratch, flags, seq, table), payload, 1 << 24);
  return bytesOf(writer);
}

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RelayError);
  expect((error as RelayError).code).toBe(ErrorCodes.INVALID_ARGUMENT);
  expect((error as RelayError).message).toMatch(message);
}

const userId: fc.Arbitrary<UserId> = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', '7', '-', 'é', '你', '😀'), minLength: 1, maxLength: 40 }),
  fc.integer({ min: -1e15, max: 1e15 }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }),
);

describe('writeRoute: a ROUTE written in place in one pass', () => {
  it('writes the same bytes as the header-then-payload path, for any table and payload', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.array(userId, { maxLength: 12 }), { maxKeys: 6 }),
        fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.constant('x'.repeat(9000))),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (table, payload, flags, seq) => {
          const writer = new FrameWriter();
          const written: string[] = [];
          const total = writeRoute(writer, flags, seq, table, payload, 1 << 24, written);
          const hostsWithUsers = Object.keys(table).filter((h) => table[h]!.length > 0);
          expect(written).toEqual(hostsWithUsers);
          if (hostsWithUsers.length === 0) {
            expect(total).toBe(0);
            expect(writer.length).toBe(0);
            return;
          }
          const bytes = bytesOf(writer);
          expect(bytes.readUInt32LE(0)).toBe(total);
          expect(bytes).toEqual(scratchPath(table, payload, flags, seq));
          const route = decodeRoute(bytes.subarray(4));
          expect(route.seq).toBe(seq);
          // A user named twice for a host is carried once, at its first place.
          expect(route.hosts).toEqual(new Map(hostsWithUsers.map((h) => [h, [...new Set(table[h]!.map(String))]])));
          expect(route.payload).toEqual(typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('decodes back to the table, with every id as its string form, through a Map too', () => {
    const table = new Map<string, UserId[]>([
      ['節點-1', ['a', 18446744073709551615n, 42]],
      ['empty', []],
      ['n2', ['😀']],
    ]);
    const writer = new FrameWriter();
    writeRoute(writer, 0, 9, table, Buffer.from([1, 2, 3]), 1 << 20);
    const decoder = new FrameDecoder();
    for (const part of writer.take()) decoder.push(part);
    const route = decodeRoute(decoder.next()!);
    expect(route.seq).toBe(9);
    expect(route.hosts).toEqual(
      new Map([
        ['節點-1', ['a', '18446744073709551615', '42']],
        ['n2', ['😀']],
      ]),
    );
    expect([...route.payload]).toEqual([1, 2, 3]);
  });

  it('a large payload is appended by reference, not copied', () => {
    const payload = Buffer.alloc(64 * 1024, 1);
    const writer = new FrameWriter();
    writeRoute(writer, 0, 1, { a: ['u'] }, payload, 1 << 20);
    const parts = writer.take();
    expect(parts.at(-1)).toBe(payload);
  });

  it('refuses bad tables with ERR_INVALID_ARGUMENT and writes nothing, leaving earlier frames intact', () => {
    const writer = new FrameWriter();
    writeRoute(writer, 0, 1, { ok: ['u'] }, 'first', 1 << 20);
    const before = writer.length;
    const cases: Array<[unknown, RegExp]> = [
      [null, /object or a Map/],
      [{ a: 'not-an-array' }, /must be an array/],
      [{ a: [''] }, /non-empty/],
      [{ a: ['x'.repeat(256)] }, /at most 255/],
      [{ a: ['é'.repeat(128)] }, /at most 255/],
      [{ a: [1.5] }, /safe integer/],
      [{ a: [{}] }, /string, number or bigint/],
      [new Map<unknown, string[]>([[7, ['u']]]), /host must be a non-empty string/],
    ];
    for (const [table, message] of cases) {
      expectInvalid(() => writeRoute(writer, 0, 2, table as RouteTable, 'payload', 1 << 20), message);
      expect(writer.length).toBe(before);
    }
    const decoder = new FrameDecoder();
    for (const part of writer.take()) decoder.push(part);
    expect(decodeRoute(decoder.next()!).payload.toString()).toBe('first');
    expect(decoder.next()).toBeUndefined();
  });

  it('a table too large for the slab is sized first; one whose arrays change after sizing is refused, not written past its room', () => {
    const huge = Array.from({ length: 5000 }, (_, i) => `a-rather-long-user-id-${i}`);
    let reads = 0;
    const table = {
      // Read once to write in the slab's room (too small), once to size, once to write.
      get a(): string[] {
        reads++;
        return reads === 2 ? ['u'] : huge;
      },
    };
    const writer = new FrameWriter();
    expectInvalid(() => writeRoute(writer, 0, 1, table, 'p', 1 << 20), /changed while/);
    expect(reads).toBe(3);
    expect(writer.length).toBe(0);

    const steady = { a: huge, b: ['x'] };
    expect(writeRoute(writer, 0, 2, steady, 'p', 1 << 20)).toBeGreaterThan(64 * 1024);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    for (const part of writer.take()) decoder.push(part);
    expect(decodeRoute(decoder.next()!).hosts).toEqual(
      new Map([
        ['a', huge],
        ['b', ['x']],
      ]),
    );
  });

  it('a frame over the limit throws ERR_FRAME_TOO_LARGE and writes nothing', () => {
    const writer = new FrameWriter();
    let error: unknown;
    try {
      writeRoute(writer, 0, 1, { a: ['u'] }, 'x'.repeat(200), 100);
    } catch (err) {
      error = err;
    }
    expect((error as RelayError).code).toBe(ErrorCodes.FRAME_TOO_LARGE);
    expect(writer.length).toBe(0);
  });
});
