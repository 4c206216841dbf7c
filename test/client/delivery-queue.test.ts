import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../src/client/delivery-queue.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';

function queue(highWaterMark: number): { q: DeliveryQueue<number>; drained: () => number } {
  let drained = 0;
  const q = new DeliveryQueue<number>(highWaterMark, () => drained++);
  return { q, drained: () => drained };
}

async function take(it: AsyncIterator<number>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    expect(r.done).toBe(false);
    out.push(r.value);
  }
  return out;
}

describe('DeliveryQueue', () => {
  it('is full at the high-water mark, and onDrained fires once when a consumer brings it down to half', async () => {
    const { q, drained } = queue(8);
    for (let i = 0; i < 7; i++) q.push(i);
    expect(q.full).toBe(false);
    q.push(7);
    expect(q.full).toBe(true);
    expect(q.length).toBe(8);
    // push never refuses: the producer is expected to stop, but an item in flight is kept
    q.push(8);
    expect(q.length).toBe(9);

    const it = q.iterate();
    expect(await take(it, 4)).toEqual([0, 1, 2, 3]);
    expect(q.length).toBe(5);
    expect(drained()).toBe(0);
    expect(await take(it, 1)).toEqual([4]);
    expect(q.length).toBe(4);
    expect(drained()).toBe(1);
    expect(await take(it, 4)).toEqual([5, 6, 7, 8]);
    expect(drained()).toBe(1);
  });

  it('does not call onDrained when it never was full', async () => {
    const { q, drained } = queue(4);
    q.push(1);
    q.push(2);
    const it = q.iterate();
    expect(await take(it, 2)).toEqual([1, 2]);
    expect(drained()).toBe(0);
  });

  it('fires onDrained again after filling up a second time', async () => {
    const { q, drained } = queue(2);
    const it = q.iterate();
    q.push(1);
    q.push(2);
    expect(q.full).toBe(true);
    await take(it, 1);
    expect(drained()).toBe(1);
    q.push(3);
    expect(q.full).toBe(true);
    await take(it, 1);
    expect(drained()).toBe(2);
    await take(it, 1);
    expect(drained()).toBe(2);
  });

  it('hands an item straight to a waiting consumer', async () => {
    const { q } = queue(2);
    const it = q.iterate();
    const pending = it.next();
    q.push(42);
    expect(await pending).toEqual({ value: 42, done: false });
    expect(q.length).toBe(0);
  });

  it('end() lets queued items drain first, then finishes; later pushes are dropped', async () => {
    const { q } = queue(10);
    q.push(1);
    q.push(2);
    q.end();
    q.push(3);
    expect(q.finished).toBe(true);
    const seen: number[] = [];
    for await (const n of q.iterate()) seen.push(n);
    expect(seen).toEqual([1, 2]);
  });

  it('end() finishes a consumer that is waiting', async () => {
    const { q } = queue(10);
    const it = q.iterate();
    const pending = it.next();
    q.end();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('fail(err) drains queued items, then the loop throws err', async () => {
    const { q } = queue(10);
    q.push(1);
    q.push(2);
    const err = new RelayError(ErrorCodes.REPLACED, 'replaced');
    q.fail(err);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of q.iterate()) seen.push(n);
      })(),
    ).rejects.toBe(err);
    expect(seen).toEqual([1, 2]);
  });

  it('fail(err) rejects a consumer that is waiting; fail after end is ignored', async () => {
    const { q } = queue(10);
    const it = q.iterate();
    const pending = it.next();
    const err = new RelayError(ErrorCodes.CLOSED, 'gone');
    q.fail(err);
    await expect(pending).rejects.toBe(err);

    const { q: q2 } = queue(10);
    q2.end();
    q2.fail(new RelayError(ErrorCodes.CLOSED, 'late'));
    expect(await q2.iterate().next()).toEqual({ value: undefined, done: true });
  });

  it('allows one consumer at a time: a second throws ERR_CONSUMER_BUSY', () => {
    const { q } = queue(2);
    q.iterate();
    let thrown: unknown;
    try {
      q.iterate();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RelayError);
    expect((thrown as RelayError).code).toBe(ErrorCodes.CONSUMER_BUSY);
  });

  it('return() frees the consumer (and ends a pending next); the next consumer gets the remaining items', async () => {
    const { q } = queue(10);
    q.push(1);
    q.push(2);
    q.push(3);
    const first = q.iterate();
    expect(await take(first, 1)).toEqual([1]);
    expect(await first.return!()).toEqual({ value: undefined, done: true });
    // the old iterator is finished
    expect(await first.next()).toEqual({ value: undefined, done: true });

    const second = q.iterate();
    expect(await take(second, 2)).toEqual([2, 3]);
    const pending = second.next();
    await second.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(() => q.iterate()).not.toThrow();
  });

  it('breaking out of a for-await loop frees the consumer', async () => {
    const { q } = queue(10);
    for (let i = 0; i < 5; i++) q.push(i);
    for await (const n of q.iterate()) {
      if (n === 1) break;
    }
    const rest: number[] = [];
    q.end();
    for await (const n of q.iterate()) rest.push(n);
    expect(rest).toEqual([2, 3, 4]);
  });

  it('the consumer is freed after the loop ends, so a new loop finishes at once', async () => {
    const { q } = queue(10);
    q.end();
    for await (const _ of q.iterate()) expect.unreachable();
    expect(await q.iterate().next()).toEqual({ value: undefined, done: true });
  });

  it('keeps order across many items and compactions', async () => {
    const { q } = queue(100_000);
    const n = 5_000;
    const it = q.iterate();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      q.push(i);
      if (i % 3 === 0) out.push((await it.next()).value as number);
    }
    q.end();
    for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
    expect(out).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('DeliveryQueue: numbered deliveries, held and taken', () => {
  function numbered(): { q: DeliveryQueue<string>; taken: () => number } {
    let taken = 0;
    const q = new DeliveryQueue<string>(100, { drained: () => {}, taken: () => taken++ });
    return { q, taken: () => taken };
  }

  it('an item handed to the loop is held, not taken, until the loop asks for the next one', async () => {
    const { q, taken } = numbered();
    q.push('a', 1);
    q.push('b', 2);
    expect(q.lowestPending).toBe(1);
    const it = q.iterate();
    expect((await it.next()).value).toBe('a');
    expect(taken()).toBe(0);
    expect(q.lowestPending).toBe(1);
    expect((await it.next()).value).toBe('b');
    expect(taken()).toBe(1);
    expect(q.lowestPending).toBe(2);
    // Asking with nothing queued takes 'b' and waits.
    const waiting = it.next();
    expect(taken()).toBe(2);
    expect(q.lowestPending).toBe(-1);
    q.push('c', 3);
    expect((await waiting).value).toBe('c');
    expect(q.lowestPending).toBe(3);
    // Returning takes the one held.
    await it.return!();
    expect(taken()).toBe(3);
    expect(q.lowestPending).toBe(-1);
  });

  it('dropThrough drops queued items through a number, unseen, and counts the held one as taken (no hook)', async () => {
    const { q, taken } = numbered();
    for (let n = 1; n <= 5; n++) q.push(`m${n}`, n);
    const it = q.iterate();
    expect((await it.next()).value).toBe('m1');
    expect(q.dropThrough(3)).toBe(2);
    expect(q.lowestPending).toBe(4);
    expect(taken()).toBe(0);
    expect((await it.next()).value).toBe('m4');
    // The drop let go of m1 (the application has it): asking again fires no take for it.
    expect(taken()).toBe(0);
    expect(q.dropThrough(3)).toBe(-1);
  });

  it('dropPending drops everything queued and lets go of the held item; returns the first number dropped', async () => {
    const { q } = numbered();
    for (let n = 7; n <= 9; n++) q.push(`m${n}`, n);
    const it = q.iterate();
    expect((await it.next()).value).toBe('m7');
    expect(q.dropPending()).toBe(8);
    expect(q.length).toBe(0);
    expect(q.lowestPending).toBe(-1);
    expect(q.dropPending()).toBe(-1);
  });
});
