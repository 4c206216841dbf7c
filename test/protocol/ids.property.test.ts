import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import { FrameDecoder } from '../../src/codec/frame-decoder.js';
import { Scratch, decodeRoute, encodeRouteHeader, writeRouteFrame } from '../../src/protocol/index.js';

// Well-formed strings of 1 to 255 UTF-8 bytes: ASCII, two-, three- and four-byte characters mixed.
const id = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', ':', '\u0000'), fc.constantFrom('é', '你', '😀')), minLength: 1, maxLength: 60 })
  .filter((s) => Buffer.byteLength(s) <= 255);

describe('ids on the wire', () => {
  it('any host and user ids come back exactly, whatever their characters and lengths', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(id, { minLength: 1, maxLength: 8 }), { minLength: 5, maxLength: 5 }),
        (hosts, users) => {
          const table = new Map(hosts.map((host, i) => [host, users[i]!]));
          const scratch = new Scratch(16);
          const writer = new FrameWriter();
          const headerBytes = encodeRouteHeader(scratch, 0, 7, table);
          writeRouteFrame(writer, scratch, headerBytes, 'payload', 1 << 20);
          const decoder = new FrameDecoder();
          for (const part of writer.take()) decoder.push(part);
          const route = decodeRoute(decoder.next()!);
          // Each host's users as given, a repeated one kept at its first place only.
          expect(route.hosts).toEqual(new Map(hosts.map((host, i) => [host, [...new Set(users[i]!)]])));
          expect(route.payload.toString()).toBe('payload');
        },
      ),
      { numRuns: 300 },
    );
  });
});
