import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameWriter } from '../../src/codec/index.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import { AckRun, FrameType, decodeAck, encodeAck } from '../../src/protocol/index.js';

function acksIn(writer: FrameWriter): Array<[number, number]> {
  const decoder = new FrameDecoder();
  for (const part of writer.take()) decoder.push(part);
  const out: Array<[number, number]> = [];
  for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
    const { first, count } = decodeAck(p);
    out.push([first, count]);
  }
  return out;
}

describe('AckRun: runs of fully delivered sends', () => {
  it('consecutive sends become one ACK, written only when sealed', () => {
    const run = new AckRun();
    const writer = new FrameWriter();
    for (let seq = 5; seq < 105; seq++) run.add(seq, writer);
    expect(writer.length).toBe(0);
    run.seal(writer);
    run.seal(writer);
    expect(acksIn(writer)).toEqual([[5, 100]]);
  });

  it('a gap in the sequence starts a new run, so every ACK names consecutive sends only', () => {
    const run = new AckRun();
    const writer = new FrameWriter();
    for (const seq of [1, 2, 3, 5, 6, 9]) run.add(seq, writer);
    run.seal(writer);
    expect(acksIn(writer)).toEqual([
      [1, 3],
      [5, 2],
      [9, 1],
    ]);
  });

  it('runs across the 32-bit wrap of the sequence', () => {
    const run = new AckRun();
    const writer = new FrameWriter();
    for (const seq of [0xffff_fffe, 0xffff_ffff, 0, 1]) run.add(seq, writer);
    run.seal(writer);
    expect(acksIn(writer)).toEqual([[0xffff_fffe, 4]]);
  });

  it('decodeAck refuses anything but 9 bytes with a count', () => {
    const protocolError = (p: Buffer): void => {
      let error: unknown;
      try {
        decodeAck(p);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RelayError);
      expect((error as RelayError).code).toBe(ErrorCodes.PROTOCOL);
    };
    protocolError(encodeAck(1, 0));
    protocolError(encodeAck(1, 1).subarray(0, 8));
    protocolError(Buffer.concat([encodeAck(1, 1), Buffer.of(0)]));
    protocolError(Buffer.from([FrameType.REPORT, 0, 0, 0, 0, 1, 0, 0, 0]));
    expect(decodeAck(encodeAck(0xffff_ffff, 7))).toEqual({ first: 0xffff_ffff, count: 7 });
  });
});
