import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/codec/index.js';
import { FrameTooLargeError, RelayError } from '../../src/errors.js';

const NUM_RUNS = 300;

function header(length: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(length, 0);
  return out;
}

function stream(payloads: readonly Uint8Array[]): Buffer {
  return Buffer.concat(payloads.flatMap((p) => [header(p.length), p]));
}

/** Cuts `bytes` at the given offsets (any order, any range). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/**
 * Pulls frames until next() returns undefined. Every frame consumes at least
 * its 4 header bytes, so more than `limit` frames means the decoder loops.
 */
function drainBounded(decoder: FrameDecoder, limit: number): Buffer[] {
  const out: Buffer[] = [];
  for (let calls = 1; calls <= limit; calls++) {
    const payload = decoder.next();
    if (payload === undefined) return out;
    out.push(payload);
  }
  throw new Error(`next() still returning frames after ${limit} calls`);
}

const hex = (bytes: readonly Uint8Array[]): string[] => bytes.map((b) => Buffer.from(b).toString('hex'));

const payload = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 3000 }) },
);

describe('FrameDecoder properties', () => {
  it('decodes any split of a stream of valid frames to exactly the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(payload, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.boolean(), { maxLength: 30 }),
        (payloads, cuts, pullAfter) => {
          const bytes = stream(payloads);
          const decoder = new FrameDecoder();
          const decoded: Buffer[] = [];
          split(bytes, cuts).forEach((chunk, i) => {
            decoder.push(chunk);
            // Sometimes pull right away, sometimes let chunks pile up first.
            if (pullAfter[i] ?? true) decoded.push(...drainBounded(decoder, bytes.length + 1));
          });
          decoded.push(...drainBounded(decoder, bytes.length + 1));

          expect(hex(decoded)).toEqual(hex(payloads));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('on random bytes only ever raises a RelayError, and always finishes', () => {
    const maxFrameBytes = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffff_ffff }));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 20 }), maxFrameBytes, (random, cuts, max) => {
        const decoder = new FrameDecoder({ maxFrameBytes: max });
        const bytes = Buffer.from(random);
        let pushed = 0;
        let frameBytes = 0;
        let failure: unknown;
        for (const chunk of split(bytes, cuts)) {
          decoder.push(chunk);
          pushed += chunk.length;
          try {
            for (const frame of drainBounded(decoder, pushed + 1)) {
              expect(frame.length).toBeLessThanOrEqual(max);
              frameBytes += 4 + frame.length;
            }
          } catch (err) {
            failure = err;
            break;
          }
        }

        if (failure === undefined) {
          // Every byte is either part of a returned frame or still buffered.
          expect(frameBytes + decoder.bufferedBytes).toBe(bytes.length);
        } else {
          expect(failure instanceof RelayError).toBe(true);
          expect(typeof (failure as RelayError).code).toBe('string');
          expect(() => decoder.next()).toThrow(failure as Error);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses an oversized length before buffering any of its payload', () => {
    const limitAndLength = fc
      .integer({ min: 0, max: 0xffff_fffe })
      .chain((max) => fc.tuple(fc.constant(max), fc.integer({ min: max + 1, max: 0xffff_ffff })));
    fc.assert(
      fc.property(
        limitAndLength,
        fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 5 }),
        fc.integer({ min: 0, max: 4 }),
        ([max, length], earlier, headerCut) => {
          const decoder = new FrameDecoder({ maxFrameBytes: max });
          const accepted = earlier.filter((p) => p.length <= max);
          decoder.push(stream(accepted));
          expect(hex(drainBounded(decoder, 100))).toEqual(hex(accepted));

          // Only the 4 header bytes, possibly in two pushes; no payload yet.
          const prefix = header(length);
          decoder.push(prefix.subarray(0, headerCut));
          decoder.push(prefix.subarray(headerCut));
          expect(decoder.bufferedBytes).toBe(4);

          expect(() => decoder.next()).toThrow(FrameTooLargeError);
          expect(decoder.bufferedBytes).toBe(0);

          // The payload arriving later is not buffered and does not revive the stream.
          decoder.push(Buffer.alloc(32, 1));
          expect(decoder.bufferedBytes).toBe(0);
          expect(() => decoder.next()).toThrow(FrameTooLargeError);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
