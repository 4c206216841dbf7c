import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KEPT_WHILE_SILENT, MAX_ORIGINS, RepeatFilter } from '../../src/client/repeat-filter.js';
import { DeliverSpans, PayloadKind, encodeDeliver, scanDeliver } from '../../src/protocol/index.js';

function inc(fill: number): Buffer {
  return Buffer.alloc(8, fill);
}

/** The `n`th of many distinct incarnations. */
function id(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  return b;
}

/** Asks the filter about a stamped DELIVER from `from` (incarnation `i`, send `seq`), numbered `serial`. */
function repeat(filter: RepeatFilter, from: string, i: Buffer, seq: number, serial = -1): boolean {
  const p = encodeDeliver(from, ['u'], PayloadKind.TEXT, Buffer.from('m'), { incarnation: i, seq });
  const spans = new DeliverSpans();
  scanDeliver(p, spans, 0, p.length);
  return filter.isRepeat(p, spans, serial);
}

describe('RepeatFilter', () => {
  it('a seq not after the highest accepted from the same origin and incarnation is a repeat', () => {
    const f = new RepeatFilter();
    expect(repeat(f, 'a', inc(1), 5)).toBe(false);
    expect(repeat(f, 'a', inc(1), 5)).toBe(true);
    expect(repeat(f, 'a', inc(1), 3)).toBe(true);
    expect(repeat(f, 'a', inc(1), 9)).toBe(false);
    // Another incarnation of the same node, and another node with the same incarnation, are other senders.
    expect(repeat(f, 'a', inc(2), 1)).toBe(false);
    expect(repeat(f, 'b', inc(1), 1)).toBe(false);
    // Origin bytes that run into the incarnation cannot collide: 'ab' + inc vs 'a' + another inc.
    expect(repeat(f, 'ab', inc(0x63), 1)).toBe(false);
    expect(f.size).toBe(4);
  });

  it('seqs compare in serial arithmetic across the wrap', () => {
    const f = new RepeatFilter();
    expect(repeat(f, 'a', inc(1), 0xffff_ffff)).toBe(false);
    expect(repeat(f, 'a', inc(1), 0)).toBe(false);
    expect(repeat(f, 'a', inc(1), 0xffff_fffe)).toBe(true);
  });

  it('rollback forgets what was journaled and not settled, so the next copy is accepted; settled stays', () => {
    const f = new RepeatFilter();
    expect(repeat(f, 'a', inc(1), 1, 1)).toBe(false);
    expect(repeat(f, 'a', inc(1), 2, 2)).toBe(false);
    expect(repeat(f, 'b', inc(1), 7, 3)).toBe(false);
    expect(repeat(f, 'a', inc(1), 3, 4)).toBe(false);
    f.settle(2);
    f.rollback();
    expect(repeat(f, 'a', inc(1), 2)).toBe(true);
    expect(repeat(f, 'a', inc(1), 3)).toBe(false);
    expect(repeat(f, 'b', inc(1), 7)).toBe(false);
  });

  it(`remembers at most ${MAX_ORIGINS} pairs, dropping the least recently used`, () => {
    const f = new RepeatFilter();
    expect(repeat(f, 'old', inc(9), 1)).toBe(false);
    expect(repeat(f, 'kept', inc(9), 1)).toBe(false);
    for (let n = 0; n < MAX_ORIGINS - 2; n++) repeat(f, 'n', id(n), 1);
    expect(f.size).toBe(MAX_ORIGINS);
    // Heard from again: now the most recently used.
    expect(repeat(f, 'kept', inc(9), 1)).toBe(true);
    repeat(f, 'n', id(MAX_ORIGINS), 1);
    expect(f.size).toBe(MAX_ORIGINS);
    // 'old' was pushed out: its repeat is not recognised any more (the documented cost).
    expect(repeat(f, 'old', inc(9), 1)).toBe(false);
    expect(repeat(f, 'kept', inc(9), 1)).toBe(true);
  });

  it('keeps a pair that is heard from while fewer than KEPT_WHILE_SILENT others are, between its deliveries', () => {
    const f = new RepeatFilter();
    expect(repeat(f, 'kept', inc(9), 1)).toBe(false);
    let n = 0;
    // Heard from again after many others (its place refreshed), then silent for almost the bound.
    for (const others of [MAX_ORIGINS / 4 + 1, KEPT_WHILE_SILENT - 1]) {
      for (let k = 0; k < others; k++) repeat(f, 'n', id(n++), 1);
      expect(repeat(f, 'kept', inc(9), 1)).toBe(true);
    }
    expect(f.size).toBe(MAX_ORIGINS);
  });

  it('tells repeats apart exactly as a map of every pair would, for many senders interleaved (more than the cache holds)', () => {
    const senders = Array.from({ length: 150 }, (_, k) => ({
      from: `node-${k % 7}`,
      incarnation: Buffer.from([k, k * 7, k * 13, 1, 2, 3, k, k]),
    }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.noBias(fc.nat({ max: senders.length - 1 })), fc.nat({ max: 20 })), { maxLength: 400 }), (sends) => {
        const f = new RepeatFilter();
        const highest = new Map<number, number>();
        for (const [k, seq] of sends) {
          const seen = highest.get(k);
          const expected = seen !== undefined && seq <= seen;
          expect(repeat(f, senders[k]!.from, senders[k]!.incarnation, seq)).toBe(expected);
          if (!expected) highest.set(k, seq);
        }
        expect(f.size).toBe(highest.size);
      }),
      { numRuns: 200 },
    );
  });
});
