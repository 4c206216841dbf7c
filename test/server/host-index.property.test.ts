import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostIndex, hashBytes } from '../../src/server/host-index.js';

class Entry {
  readonly idBytes: Uint8Array;
  constructor(readonly id: string) {
    this.idBytes = Buffer.from(id);
  }
}

/** Looks `id` up the way routing does: as a byte range inside a larger frame. */
function findIn(index: HostIndex<Entry>, id: string): Entry | undefined {
  const frame = Buffer.concat([Buffer.from([7, 7, 7]), Buffer.from(id), Buffer.from([9])]);
  return index.find(frame, 3, frame.length - 1);
}

describe('HostIndex', () => {
  it('finds exactly what a Map keyed by id would, through any sequence of adds and deletes (growth and backward shifts included)', () => {
    const universe = [...Array.from({ length: 150 }, (_, i) => `n${i}`), '節點', 'node-522789', 'node-739192'];
    const ids = fc.noBias(fc.constantFrom(...universe));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), ids), { maxLength: 600 }), (ops) => {
        const index = new HostIndex<Entry>();
        const model = new Map<string, Entry>();
        for (const [add, id] of ops) {
          const held = model.get(id);
          if (add) {
            if (held !== undefined) index.delete(held);
            const entry = new Entry(id);
            index.add(entry);
            model.set(id, entry);
          } else if (held !== undefined) {
            index.delete(held);
            model.delete(id);
          }
          expect(index.size).toBe(model.size);
        }
        for (const id of [...universe, 'n150', 'n', '']) expect(findIn(index, id)).toBe(model.get(id));
      }),
      { numRuns: 300 },
    );
  });

  it('tells apart two ids whose hashes are equal', () => {
    const a = new Entry('node-522789');
    const b = new Entry('node-739192');
    expect(hashBytes(a.idBytes, 0, a.idBytes.length)).toBe(hashBytes(b.idBytes, 0, b.idBytes.length));
    const index = new HostIndex<Entry>();
    index.add(a);
    expect(findIn(index, 'node-739192')).toBeUndefined();
    index.add(b);
    expect(findIn(index, 'node-522789')).toBe(a);
    expect(findIn(index, 'node-739192')).toBe(b);
    index.delete(a);
    expect(findIn(index, 'node-522789')).toBeUndefined();
    expect(findIn(index, 'node-739192')).toBe(b);
  });

  it('a delete of an entry not held (an older session of the same id) leaves the held one', () => {
    const index = new HostIndex<Entry>();
    const held = new Entry('n1');
    index.add(held);
    index.delete(new Entry('n1'));
    expect(findIn(index, 'n1')).toBe(held);
    expect(index.size).toBe(1);
  });
});
