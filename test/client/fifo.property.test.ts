import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Fifo } from '../../src/client/fifo.js';

type Op = { op: 'push'; value: number } | { op: 'shift' } | { op: 'take'; value: number } | { op: 'drain' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 50 }).map((value) => ({ op: 'push' as const, value })) },
  { weight: 4, arbitrary: fc.constant({ op: 'shift' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 50 }).map((value) => ({ op: 'take' as const, value })) },
  // Rare, so that the queue grows past its first sizes with its head anywhere in the ring.
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 99 }).map((n) => (n === 0 ? { op: 'drain' as const } : { op: 'shift' as const })) },
);

describe('Fifo', () => {
  it('behaves as an array used as a queue, across growth, wrap-around and shrinking', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 3000, size: 'max' }), (ops) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'push':
              fifo.push(o.value);
              model.push(o.value);
              break;
            case 'shift':
              expect(fifo.shift()).toBe(model.shift());
              break;
            case 'take': {
              const at = model.indexOf(o.value);
              expect(fifo.take((x) => x === o.value)).toBe(at === -1 ? undefined : model.splice(at, 1)[0]);
              break;
            }
            case 'drain':
              expect(fifo.drain()).toEqual(model.splice(0));
          }
          expect(fifo.length).toBe(model.length);
          expect(fifo.peek()).toBe(model[0]);
        }
        expect(fifo.drain()).toEqual(model);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps its order through bursts far past its first size, and keeps nothing alive that left it', () => {
    const fifo = new Fifo<{ n: number }>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) fifo.push({ n: i });
      for (let i = 0; i < 4990; i++) expect(fifo.shift()!.n).toBe(i);
      for (let i = 0; i < 20; i++) fifo.push({ n: 5000 + i });
      const rest = fifo.drain().map((x) => x.n);
      expect(rest).toEqual([...Array.from({ length: 10 }, (_, i) => 4990 + i), ...Array.from({ length: 20 }, (_, i) => 5000 + i)]);
      expect(fifo.length).toBe(0);
      expect(fifo.shift()).toBeUndefined();
    }
    const slots = (fifo as unknown as { slots: unknown[] }).slots;
    expect(slots.every((s) => s === undefined)).toBe(true);
    // Emptied after a burst: back to a small ring.
    expect(slots.length).toBeLessThanOrEqual(1024);
  });
});
