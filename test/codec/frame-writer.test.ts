import { describe, expect, it } from 'vitest';
import { DEFAULT_COPY_THRESHOLD, FrameDecoder, FrameWriter, encodeFrame } from '../../src/codec/index.js';

function patterned(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Writes a whole payload in place, the way callers use reserve(). */
function writeInPlace(writer: FrameWriter, payload: Buffer): void {
  const offset = writer.reserve(payload.length);
  payload.copy(writer.buf, offset);
}

function decodeAll(chunks: readonly Buffer[]): string[] {
  const decoder = new FrameDecoder();
  const out: string[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(p.toString('hex'));
  }
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

const hex = (payloads: readonly Buffer[]): string[] => payloads.map((p) => p.toString('hex'));
const sum = (chunks: readonly Buffer[]): number => chunks.reduce((n, c) => n + c.length, 0);

describe('FrameWriter: frames written in place', () => {
  it('writes the length prefix and returns the offset for the payload', () => {
    const writer = new FrameWriter();
    const offset = writer.reserve(3);
    expect(offset).toBe(4);
    writer.buf.set([7, 8, 9], offset);
    const second = writer.reserve(0);
    expect(second).toBe(4 + 3 + 4);

    const parts = writer.take();
    expect(Buffer.concat(parts).toString('hex')).toBe('03000000' + '070809' + '00000000');
  });

  it('produces bytes that FrameDecoder decodes back exactly', () => {
    const payloads = [patterned(5, 1), Buffer.alloc(0), patterned(1000, 2), patterned(1, 3)];
    const writer = new FrameWriter();
    for (const p of payloads) writeInPlace(writer, p);

    const parts = writer.take();
    expect(Buffer.concat(parts).toString('hex')).toBe(Buffer.concat(payloads.map((p) => encodeFrame(p))).toString('hex'));
    expect(decodeAll(parts)).toEqual(hex(payloads));
  });

  it('carries many frames across slab boundaries, including frames larger than a slab', () => {
    const payloads = Array.from({ length: 1000 }, (_, i) => patterned(i % 7 === 0 ? 150 : i % 60, i));
    const writer = new FrameWriter(64);
    for (const p of payloads) writeInPlace(writer, p);

    const parts = writer.take();
    expect(parts.length).toBeGreaterThan(100);
    expect(decodeAll(parts)).toEqual(hex(payloads));
  });

  it('fills the default 64 KiB slab and moves on to the next one', () => {
    const payloads = Array.from({ length: 2000 }, (_, i) => patterned(100, i));
    const writer = new FrameWriter();
    for (const p of payloads) writeInPlace(writer, p);

    const parts = writer.take();
    // 630 frames of 104 bytes fit in one 65536-byte slab; 2000 frames take four slabs.
    expect(parts.map((p) => p.length)).toEqual([630 * 104, 630 * 104, 630 * 104, 110 * 104]);
    expect(decodeAll(parts)).toEqual(hex(payloads));
  });
});

describe('FrameWriter: large payloads by reference', () => {
  it('appendReference hands out the same Buffer object, and the stream still decodes', () => {
    const large = patterned(64 * 1024, 5);
    const writer = new FrameWriter();
    writeInPlace(writer, patterned(10, 1));
    writer.reserve(large.length, 0);
    writer.appendReference(large);
    writeInPlace(writer, patterned(20, 2));

    const parts = writer.take();
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(large);
    expect(parts[0]!.length).toBe(4 + 10 + 4);
    expect(parts[2]!.length).toBe(4 + 20);
    expect(decodeAll(parts)).toEqual(hex([patterned(10, 1), large, patterned(20, 2)]));
  });

  it('joins an inline prefix and a referenced remainder into one payload', () => {
    const prefix = patterned(12, 1);
    const rest = patterned(20_000, 2);
    const writer = new FrameWriter();
    const offset = writer.reserve(prefix.length + rest.length, prefix.length);
    prefix.copy(writer.buf, offset);
    writer.appendReference(rest);

    const parts = writer.take();
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(rest);
    expect(decodeAll(parts)).toEqual(hex([Buffer.concat([prefix, rest])]));
  });

  it('lets the same referenced payload go out several times uncopied', () => {
    const shared = patterned(32 * 1024, 3);
    const writer = new FrameWriter();
    for (let i = 0; i < 3; i++) {
      writer.reserve(shared.length, 0);
      writer.appendReference(shared);
    }
    const parts = writer.take();
    expect(parts.filter((p) => p === shared)).toHaveLength(3);
    expect(decodeAll(parts)).toEqual(hex([shared, shared, shared]));
  });
});

describe('FrameWriter: appendEncoded', () => {
  it('copies small pre-encoded frames into the slab', () => {
    const encoded = Buffer.concat([encodeFrame('one'), encodeFrame('two')]);
    const writer = new FrameWriter();
    writeInPlace(writer, patterned(3, 1));
    writer.appendEncoded(encoded, 2);
    expect(writer.frames).toBe(3);

    const before = encoded.toString('hex');
    const parts = writer.take();
    expect(parts).toHaveLength(1);
    expect(parts[0]).not.toBe(encoded);
    encoded.fill(0);
    expect(Buffer.concat(parts).toString('hex')).toBe(encodeFrame(patterned(3, 1)).toString('hex') + before);
  });

  it(`references pre-encoded frames of ${DEFAULT_COPY_THRESHOLD} bytes or more`, () => {
    expect(DEFAULT_COPY_THRESHOLD).toBe(8 * 1024);
    const atThreshold = encodeFrame(patterned(DEFAULT_COPY_THRESHOLD - 4, 1));
    const belowThreshold = encodeFrame(patterned(DEFAULT_COPY_THRESHOLD - 5, 2));
    expect(atThreshold.length).toBe(DEFAULT_COPY_THRESHOLD);

    const writer = new FrameWriter();
    writer.appendEncoded(belowThreshold);
    writer.appendEncoded(atThreshold);
    writeInPlace(writer, patterned(2, 3));

    const parts = writer.take();
    expect(parts).toHaveLength(3);
    expect(parts[0]).not.toBe(belowThreshold);
    expect(parts[0]!.length).toBe(belowThreshold.length);
    expect(parts[1]).toBe(atThreshold);
    expect(decodeAll(parts)).toEqual(
      hex([patterned(DEFAULT_COPY_THRESHOLD - 5, 2), patterned(DEFAULT_COPY_THRESHOLD - 4, 1), patterned(2, 3)]),
    );
  });

  it('copies a small frame that does not fit the current slab into a new one', () => {
    const writer = new FrameWriter(16);
    writeInPlace(writer, patterned(8, 1)); // 12 of 16 bytes
    writer.appendEncoded(encodeFrame(patterned(6, 2))); // 10 bytes: next slab
    writer.appendEncoded(encodeFrame(patterned(30, 3))); // larger than a slab
    const parts = writer.take();
    expect(parts.map((p) => p.length)).toEqual([12, 10, 34]);
    expect(decodeAll(parts)).toEqual(hex([patterned(8, 1), patterned(6, 2), patterned(30, 3)]));
  });
});

describe('FrameWriter: length and frames', () => {
  it('counts every buffered byte and frame, and take() resets both', () => {
    const writer = new FrameWriter();
    expect(writer.length).toBe(0);
    expect(writer.frames).toBe(0);
    expect(writer.take()).toEqual([]);

    writeInPlace(writer, patterned(10, 1));
    expect(writer.length).toBe(14);
    expect(writer.frames).toBe(1);

    writer.reserve(20_000, 0);
    writer.appendReference(patterned(20_000, 2));
    expect(writer.length).toBe(14 + 4 + 20_000);
    expect(writer.frames).toBe(2);

    writer.appendEncoded(encodeFrame(patterned(5, 3)));
    expect(writer.length).toBe(14 + 4 + 20_000 + 9);
    expect(writer.frames).toBe(3);

    writer.appendEncoded(encodeFrame(patterned(9000, 4)));
    expect(writer.length).toBe(14 + 4 + 20_000 + 9 + 9004);
    expect(writer.frames).toBe(4);

    const expected = writer.length;
    const parts = writer.take();
    expect(sum(parts)).toBe(expected);
    expect(writer.length).toBe(0);
    expect(writer.frames).toBe(0);
    expect(writer.take()).toEqual([]);

    writeInPlace(writer, patterned(1, 5));
    expect(writer.length).toBe(5);
    expect(writer.frames).toBe(1);
  });
});

describe('FrameWriter: bytes handed out are never overwritten', () => {
  it('keeps taken chunks intact while later frames are written into the same slab', () => {
    const writer = new FrameWriter(1024);
    for (let i = 0; i < 5; i++) writeInPlace(writer, patterned(20, i));
    const taken = writer.take();
    const snapshot = taken.map((p) => Buffer.from(p));

    // The slab has room left, so these land in the same memory, after the taken bytes.
    for (let i = 0; i < 5; i++) writeInPlace(writer, Buffer.alloc(20, 0xee));
    const later = writer.take();
    expect(taken).toHaveLength(1);
    expect(later[0]!.buffer).toBe(taken[0]!.buffer);
    expect(later[0]!.byteOffset).toBe(taken[0]!.byteOffset + taken[0]!.length);

    expect(hex(taken)).toEqual(hex(snapshot));
    expect(decodeAll([...taken, ...later])).toEqual(
      hex([...Array.from({ length: 5 }, (_, i) => patterned(20, i)), ...Array.from({ length: 5 }, () => Buffer.alloc(20, 0xee))]),
    );
  });

  it('keeps many taken batches intact across slab changes and every kind of append', () => {
    const writer = new FrameWriter(256);
    const batches: { parts: Buffer[]; snapshot: Buffer[] }[] = [];
    const payloads: Buffer[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) {
        const p = patterned((round * 13 + i * 5) % 90, round * 10 + i);
        writeInPlace(writer, p);
        payloads.push(p);
      }
      const small = patterned(round % 30, round);
      writer.appendEncoded(encodeFrame(small));
      payloads.push(small);
      if (round % 10 === 0) {
        const big = patterned(10_000, round);
        writer.reserve(big.length, 0);
        writer.appendReference(big);
        payloads.push(big);
      }
      const parts = writer.take();
      batches.push({ parts, snapshot: parts.map((p) => Buffer.from(p)) });
    }

    for (const { parts, snapshot } of batches) expect(hex(parts)).toEqual(hex(snapshot));
    expect(decodeAll(batches.flatMap((b) => b.parts))).toEqual(hex(payloads));
  });
});
