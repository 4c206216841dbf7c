import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OriginCache } from '../../src/client/origin-cache.js';

/** `id`'s bytes inside a larger buffer, as a DELIVER in a socket chunk holds them. */
function inChunk(id: string): { buf: Buffer; start: number; end: number } {
  const bytes = Buffer.from(id, 'utf8');
  const buf = Buffer.concat([Buffer.from('before'), bytes, Buffer.from('after')]);
  return { buf, start: 6, end: 6 + bytes.length };
}

describe('OriginCache', () => {
  it('always returns the id whose bytes it is given, whatever collides in its slots', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constantFrom('im-1', 'im-2', 'im-a1', 'im-b1', 'node-é', '節點'), fc.string({ minLength: 1, maxLength: 12 })),
          { minLength: 1, maxLength: 400 },
        ),
        (ids) => {
          const cache = new OriginCache();
          for (const id of ids) {
            const { buf, start, end } = inChunk(id);
            expect(cache.get(buf, start, end)).toBe(Buffer.from(id, 'utf8').toString('utf8'));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not keep the chunk alive or change when the chunk is reused', () => {
    const cache = new OriginCache();
    const { buf, start, end } = inChunk('im-7');
    expect(cache.get(buf, start, end)).toBe('im-7');
    buf.write('im-8', start);
    expect(cache.get(buf, start, end)).toBe('im-8');
    buf.write('im-7', start);
    expect(cache.get(buf, start, end)).toBe('im-7');
  });
});
