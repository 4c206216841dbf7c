import { describe, expect, it } from 'vitest';
import { InFlight } from '../../src/client/in-flight.js';
import { PendingSend, type ReplyKind } from '../../src/client/pending-send.js';
import { ErrorCodes } from '../../src/errors.js';

function sends(seqs: number[], reply: ReplyKind = 'hosts'): { inflight: InFlight; entries: PendingSend[] } {
  const inflight = new InFlight();
  const entries = seqs.map((seq) => {
    const e = new PendingSend(seq, reply, ['h']);
    e.promise.catch(() => {});
    e.sentAt = 1;
    inflight.push(e);
    return e;
  });
  return { inflight, entries };
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('InFlight: answers in send order', () => {
  it('a REPORT answers the oldest send in flight; any other seq is ERR_PROTOCOL', () => {
    const { inflight, entries } = sends([1, 2, 3]);
    expect(inflight.report(1)).toBe(entries[0]);
    expect(codeOf(() => inflight.report(3))).toBe(ErrorCodes.PROTOCOL);
    expect(inflight.report(2)).toBe(entries[1]);
    expect(inflight.report(3)).toBe(entries[2]);
    expect(codeOf(() => inflight.report(4))).toBe(ErrorCodes.PROTOCOL);
  });

  it('an ACK must start at the oldest send and run over consecutive seqs of sends waiting for a host report', () => {
    const { inflight, entries } = sends([5, 6, 7, 9]);
    const settled: PendingSend[] = [];
    inflight.ack(5, 2, (e) => settled.push(e));
    expect(settled).toEqual(entries.slice(0, 2));
    // 8 is not in flight: the run breaks the order after settling 7.
    expect(codeOf(() => inflight.ack(7, 2, (e) => settled.push(e)))).toBe(ErrorCodes.PROTOCOL);
    expect(settled).toEqual(entries.slice(0, 3));
    expect(codeOf(() => inflight.ack(10, 1, () => {}))).toBe(ErrorCodes.PROTOCOL);
    expect(inflight.length).toBe(1);
  });

  it('an ACK never answers a sendToUsers, and a huge count stops at what is in flight', () => {
    const users = sends([1], 'users');
    expect(codeOf(() => users.inflight.ack(1, 1, () => {}))).toBe(ErrorCodes.PROTOCOL);
    const { inflight } = sends([1, 2]);
    let n = 0;
    expect(codeOf(() => inflight.ack(1, 0xffff_ffff, () => n++))).toBe(ErrorCodes.PROTOCOL);
    expect(n).toBe(2);
  });

  it('a send that timed out keeps its place: its late answer is taken and ignored, in order', () => {
    const { inflight, entries } = sends([1, 2, 3]);
    entries[2]!.sentAt = 100;
    const expired: PendingSend[] = [];
    inflight.expire(50, (e) => expired.push(e));
    expect(expired).toEqual(entries.slice(0, 2));
    expect(inflight.length).toBe(1);
    expect(codeOf(() => inflight.report(3))).toBe(ErrorCodes.PROTOCOL);
    expect(inflight.report(1)).toBeUndefined();
    const settled: PendingSend[] = [];
    inflight.ack(2, 2, (e) => settled.push(e));
    expect(settled).toEqual([entries[2]]);
  });

  it('drain hands back the sends waiting, in order, and forgets late answers', () => {
    const { inflight, entries } = sends([1, 2, 3]);
    inflight.expire(2, () => {});
    expect(inflight.drain()).toEqual([]);
    const again = sends([4, 5]);
    expect(again.inflight.drain()).toEqual(again.entries);
    expect(codeOf(() => inflight.report(1))).toBe(ErrorCodes.PROTOCOL);
    expect(entries).toHaveLength(3);
  });
});
